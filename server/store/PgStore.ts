import pg from 'pg';
import type { Logger } from 'pino';
import type { MachineRecord, TaskRecord } from '../control/records.js';
import { unavailable } from '../errors.js';
import type { PgLeadership } from '../ha/PgLeadership.js';
import { CommitBatcher, type Batch } from './CommitBatcher.js';
import { redactUrl } from './pgSchema.js';
import { decodeMachine, decodeTask, encodeMachine, encodeTask, taskStateName } from './recordCodec.js';
import type { Store, StoredState } from './Store.js';

/** Raised by a commit when the leader row carries another epoch: a successor has taken over. */
export class FencedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FencedError';
  }
}

/**
 * Store in PostgreSQL, shared by replicas, and only the leader writes. Saves
 * are batched as in SqliteStore, and each batch is one statement that locks
 * the `leader` row with `epoch = <this leader's epoch>` and writes only when
 * that row exists. When it does not, a successor has taken over: nothing is
 * written, the commit raises FencedError and leadership is lost, so the
 * server stops. Any other failed commit also gives up leadership, because
 * the database then lacks what this replica has in memory.
 *
 * The connection opens in load(), which the server calls once it leads.
 */
export class PgStore implements Store {
  private client: pg.Client | undefined;
  private readonly batcher: CommitBatcher;

  constructor(
    private readonly url: string,
    private readonly leadership: PgLeadership,
    private readonly log: Logger,
  ) {
    this.batcher = new CommitBatcher(
      (batch) => this.commit(batch),
      (error, batch) => {
        this.log.error({ err: error, tasks: batch.tasks.length, machines: batch.machines.length }, 'store commit failed');
        this.leadership.lose(`store commit failed: ${error instanceof Error ? error.message : String(error)}`);
      },
    );
  }

  async load(): Promise<StoredState> {
    const client = await this.connect();
    const tasks = await client.query<{ record: string }>('SELECT record FROM tasks ORDER BY seq');
    const machines = await client.query<{ record: string }>('SELECT record FROM machines ORDER BY id');
    return { tasks: tasks.rows.map((row) => decodeTask(row.record)), machines: machines.rows.map((row) => decodeMachine(row.record)) };
  }

  saveTask(task: TaskRecord): void {
    this.batcher.saveTask(task);
  }

  saveMachine(machine: MachineRecord): void {
    this.batcher.saveMachine(machine);
  }

  deleteMachine(id: string): void {
    this.batcher.deleteMachine(id);
  }

  /** Resolves when every earlier save is committed; rejects with UNAVAILABLE when the commit failed. */
  async flush(): Promise<void> {
    try {
      await this.batcher.flush();
    } catch (error) {
      throw unavailable(`the server could not commit the change and stopped leading; retry on the new leader (${error instanceof Error ? error.message : String(error)})`);
    }
  }

  async close(): Promise<void> {
    await this.batcher.close();
    await this.client?.end().catch(() => {});
    this.client = undefined;
  }

  private async connect(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({ connectionString: this.url, keepAlive: true, application_name: 'machinehub-store' });
    client.on('error', (error) => this.leadership.lose(`store connection failed: ${error.message}`));
    try {
      await client.connect();
    } catch (error) {
      throw new Error(`failed to connect the store to ${redactUrl(this.url)}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    this.client = client;
    this.log.info({ url: redactUrl(this.url) }, 'PostgreSQL store connected');
    return client;
  }

  /**
   * Writes one batch as one statement, so one round trip and one implicit
   * transaction. The `fence` CTE locks the leader row at this replica's
   * epoch. Every write is conditional on that row, so when a successor has
   * changed the epoch nothing is written and FencedError is raised. The row
   * lock also makes a successor's takeover wait until this commit ends.
   */
  private async commit(batch: Batch): Promise<void> {
    const epoch = this.leadership.epoch();
    if (epoch === undefined) throw new FencedError('this replica is not the leader');
    const client = await this.connect();
    const { rows } = await client.query<{ fenced: boolean }>(COMMIT_BATCH, [
      epoch,
      batch.tasks.map((t) => t.id),
      batch.tasks.map((t) => t.seq),
      batch.tasks.map(taskStateName),
      batch.tasks.map(encodeTask),
      batch.machines.map((m) => m.id),
      batch.machines.map(encodeMachine),
      batch.deletedMachineIds,
    ]);
    if (rows[0]?.fenced !== false) throw new FencedError(`leader epoch ${epoch} is no longer current: another replica took over`);
  }
}

/**
 * Statement that writes one batch (see PgStore.commit). PostgreSQL runs every
 * data-modifying CTE to completion whether or not the final SELECT reads it.
 * Parameters: epoch, the four task columns, the two machine columns, and the
 * ids of deleted machines.
 */
const COMMIT_BATCH = `
  WITH fence AS (
    SELECT epoch FROM leader WHERE id = 1 AND epoch = $1 FOR UPDATE
  ), upserted_tasks AS (
    INSERT INTO tasks (id, seq, state, record)
    SELECT * FROM unnest($2::text[], $3::bigint[], $4::text[], $5::text[]) WHERE EXISTS (SELECT 1 FROM fence)
    ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, state = excluded.state, record = excluded.record
    RETURNING 1
  ), upserted_machines AS (
    INSERT INTO machines (id, record)
    SELECT * FROM unnest($6::text[], $7::text[]) WHERE EXISTS (SELECT 1 FROM fence)
    ON CONFLICT (id) DO UPDATE SET record = excluded.record
    RETURNING 1
  ), deleted_machines AS (
    DELETE FROM machines WHERE id = ANY($8::text[]) AND EXISTS (SELECT 1 FROM fence)
    RETURNING 1
  )
  SELECT NOT EXISTS (SELECT 1 FROM fence) AS fenced
`;
