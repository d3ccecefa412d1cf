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
 * Store in PostgreSQL, shared by replicas; only the leader writes. Saves are
 * batched as in SqliteStore, and each batch is one transaction that first
 * locks the `leader` row with `epoch = <this leader's epoch>`. When no row
 * matches, a successor has taken over: the transaction rolls back, the
 * commit raises FencedError and leadership is lost, so the server stops.
 * Any other failed commit also gives up leadership, because the database no
 * longer has what this replica has in memory.
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

  /** Writes one batch in one transaction, after checking that this replica's epoch is still current. */
  private async commit(batch: Batch): Promise<void> {
    const epoch = this.leadership.epoch();
    if (epoch === undefined) throw new FencedError('this replica is not the leader');
    const client = await this.connect();
    await client.query('BEGIN');
    try {
      // The row lock also makes a successor's takeover wait for this transaction.
      const fence = await client.query('SELECT 1 FROM leader WHERE id = 1 AND epoch = $1 FOR UPDATE', [epoch]);
      if (fence.rowCount !== 1) throw new FencedError(`leader epoch ${epoch} is no longer current: another replica took over`);
      if (batch.tasks.length > 0) {
        await client.query(
          'INSERT INTO tasks (id, seq, state, record) SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[]) ' +
            'ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, state = excluded.state, record = excluded.record',
          [batch.tasks.map((t) => t.id), batch.tasks.map((t) => t.seq), batch.tasks.map(taskStateName), batch.tasks.map(encodeTask)],
        );
      }
      if (batch.machines.length > 0) {
        await client.query(
          'INSERT INTO machines (id, record) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (id) DO UPDATE SET record = excluded.record',
          [batch.machines.map((m) => m.id), batch.machines.map(encodeMachine)],
        );
      }
      if (batch.deletedMachineIds.length > 0) {
        await client.query('DELETE FROM machines WHERE id = ANY($1::text[])', [batch.deletedMachineIds]);
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    }
  }
}
