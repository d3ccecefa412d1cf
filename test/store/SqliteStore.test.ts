import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';

import { TaskState } from '../../gen/machinehub/task/v1/task.js';
import { SQLITE_FILE_NAME, SqliteStore } from '../../server/store/SqliteStore.js';
import { fullMachine, fullTask } from './fullRecords.js';

const silentLogger = pino({ level: 'silent' });
const directories: string[] = [];
const stores: SqliteStore[] = [];

afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function newDataDir(): string {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'machinehub-store-'));
  directories.push(directory);
  return directory;
}

function openStore(dataDir: string): SqliteStore {
  const store = SqliteStore.open(dataDir, silentLogger);
  stores.push(store);
  return store;
}

async function closeStore(store: SqliteStore): Promise<void> {
  stores.splice(stores.indexOf(store), 1);
  await store.close();
}

describe('SqliteStore', () => {
  it('round-trips tasks and machines exactly', async () => {
    const dataDir = newDataDir();
    const store = openStore(dataDir);
    const task = fullTask('t-full', 41);
    const machine = fullMachine('m-1');
    store.saveTask(task);
    store.saveMachine(machine);
    await store.flush();
    await closeStore(store);

    const reopened = openStore(dataDir);
    const state = await reopened.load();
    expect(state.tasks).toEqual([task]);
    expect(state.tasks[0]!.spec.stdin).toBeInstanceOf(Buffer);
    expect(state.machines).toEqual([machine]);
  });

  it('keeps the latest content and deletions', async () => {
    const dataDir = newDataDir();
    const store = openStore(dataDir);
    const task = fullTask('t-1', 1);
    store.saveTask(task);
    store.saveMachine(fullMachine('m-keep'));
    store.saveMachine(fullMachine('m-gone'));
    await store.flush();

    task.state = TaskState.TASK_STATE_COMPLETED;
    task.exitCode = 0;
    task.finishTime = new Date('2026-01-02T04:00:00.000Z');
    store.saveTask(task);
    store.deleteMachine('m-gone');
    await store.flush();
    await closeStore(store);

    const state = await openStore(dataDir).load();
    expect(state.tasks.map((t) => [t.id, t.state, t.exitCode, t.finishTime])).toEqual([
      ['t-1', TaskState.TASK_STATE_COMPLETED, 0, new Date('2026-01-02T04:00:00.000Z')],
    ]);
    expect(state.machines.map((m) => m.id)).toEqual(['m-keep']);
  });

  it('loads tasks in submission order', async () => {
    const dataDir = newDataDir();
    const store = openStore(dataDir);
    for (const seq of [3, 1, 2]) store.saveTask(fullTask(`t-${seq}`, seq));
    await store.flush();
    const state = await store.load();
    expect(state.tasks.map((t) => t.seq)).toEqual([1, 2, 3]);
  });

  it('commits one turn in one transaction', async () => {
    const dataDir = newDataDir();
    const store = openStore(dataDir);
    const flushes: Promise<void>[] = [];
    for (let i = 1; i <= 50; i++) {
      store.saveTask(fullTask(`t-${i}`, i));
      flushes.push(store.flush());
    }
    // Every flush of the turn waits for the same commit.
    expect(new Set(flushes).size).toBe(1);
    await Promise.all(flushes);
    expect((await store.load()).tasks).toHaveLength(50);
  });

  it('flush waits for earlier saves', async () => {
    const store = openStore(newDataDir());
    store.saveTask(fullTask('t-early', 1));
    await new Promise((resolve) => setImmediate(resolve));
    // The commit of the first save has run; this flush returns at once.
    await store.flush();
    expect((await store.load()).tasks.map((t) => t.id)).toEqual(['t-early']);
  });

  it('rejects a second open', () => {
    const dataDir = newDataDir();
    openStore(dataDir);
    expect(() => SqliteStore.open(dataDir, silentLogger)).toThrow(/locked: another machinehub server uses this data directory/);
  });

  it('rejects a newer schema version', async () => {
    const dataDir = newDataDir();
    await closeStore(openStore(dataDir));
    const db = new Database(path.join(dataDir, SQLITE_FILE_NAME));
    db.prepare('UPDATE schema_version SET version = 99').run();
    db.close();
    expect(() => SqliteStore.open(dataDir, silentLogger)).toThrow(/schema version 99, but this server reads version 1/);
  });
});
