import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { MachineRecord, TaskRecord } from '../control/records.js';
import { CommitBatcher, type Batch } from './CommitBatcher.js';
import { decodeMachine, decodeTask, encodeMachine, encodeTask, taskStateName } from './recordCodec.js';
import type { Store, StoredState } from './Store.js';

/** File name of the database inside the data directory. */
export const SQLITE_FILE_NAME = 'machinehub.db';

/** Schema version this code reads and writes. */
const SCHEMA_VERSION = 1;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS tasks (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    state TEXT NOT NULL,
    record TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS machines (
    id TEXT PRIMARY KEY,
    record TEXT NOT NULL
  );
`;

/**
 * Store in one SQLite file, for a single server. WAL journal with
 * synchronous=FULL, so a commit has reached the disk when it returns and
 * survives a process kill or power loss. The connection uses exclusive
 * locking, so a second server on the same data directory fails at start
 * instead of writing beside the first.
 *
 * better-sqlite3 is synchronous: a commit blocks the event loop for its
 * fsync, once per event-loop turn with saves, however many records changed.
 */
export class SqliteStore implements Store {
  private readonly batcher: CommitBatcher;
  private readonly upsertTask: Database.Statement<[string, number, string, string]>;
  private readonly upsertMachine: Database.Statement<[string, string]>;
  private readonly deleteMachineRow: Database.Statement<[string]>;
  private readonly commitBatch: (batch: Batch) => void;

  private constructor(
    private readonly db: Database.Database,
    readonly file: string,
    private readonly log: Logger,
  ) {
    this.upsertTask = db.prepare(
      'INSERT INTO tasks (id, seq, state, record) VALUES (?, ?, ?, ?) ' +
        'ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, state = excluded.state, record = excluded.record',
    );
    this.upsertMachine = db.prepare('INSERT INTO machines (id, record) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET record = excluded.record');
    this.deleteMachineRow = db.prepare('DELETE FROM machines WHERE id = ?');
    this.commitBatch = db.transaction((batch: Batch) => {
      for (const task of batch.tasks) this.upsertTask.run(task.id, task.seq, taskStateName(task), encodeTask(task));
      for (const machine of batch.machines) this.upsertMachine.run(machine.id, encodeMachine(machine));
      for (const id of batch.deletedMachineIds) this.deleteMachineRow.run(id);
    });
    this.batcher = new CommitBatcher(
      (batch) => this.commitBatch(batch),
      (error, batch) => this.log.error({ err: error, tasks: batch.tasks.length, machines: batch.machines.length }, 'store commit failed, retrying'),
    );
  }

  /**
   * Opens or creates `<dataDir>/machinehub.db`, creating the directory when
   * missing. Throws when another process has the database locked or its schema
   * version differs from SCHEMA_VERSION.
   */
  static open(dataDir: string, logger: Logger): SqliteStore {
    mkdirSync(dataDir, { recursive: true });
    const file = path.resolve(dataDir, SQLITE_FILE_NAME);
    const db = new Database(file, { timeout: 2_000 });
    try {
      db.pragma('locking_mode = EXCLUSIVE');
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      migrate(db, file);
    } catch (error) {
      db.close();
      if (error instanceof Database.SqliteError && error.code === 'SQLITE_BUSY') {
        throw new Error(`database ${file} is locked: another machinehub server uses this data directory`, { cause: error });
      }
      throw error;
    }
    logger.info({ file, schemaVersion: SCHEMA_VERSION }, 'SQLite store opened');
    return new SqliteStore(db, file, logger);
  }

  async load(): Promise<StoredState> {
    const tasks = this.db.prepare<[], { record: string }>('SELECT record FROM tasks ORDER BY seq').all();
    const machines = this.db.prepare<[], { record: string }>('SELECT record FROM machines ORDER BY id').all();
    return { tasks: tasks.map((row) => decodeTask(row.record)), machines: machines.map((row) => decodeMachine(row.record)) };
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

  flush(): Promise<void> {
    return this.batcher.flush();
  }

  async close(): Promise<void> {
    await this.batcher.close();
    if (this.db.open) this.db.close();
  }
}

/** Creates the tables of a new database and checks the version of an existing one. */
function migrate(db: Database.Database, file: string): void {
  db.transaction(() => {
    db.exec(SCHEMA);
    const row = db.prepare<[], { version: number }>('SELECT version FROM schema_version').get();
    if (row === undefined) {
      db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(SCHEMA_VERSION);
    } else if (row.version !== SCHEMA_VERSION) {
      throw new Error(`database ${file} has schema version ${row.version}, but this server reads version ${SCHEMA_VERSION}: use a matching machinehub version`);
    }
  }).immediate();
}
