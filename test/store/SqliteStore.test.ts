import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';

import { MachineStatus } from '../../gen/machinehub/machine/v1/machine.js';
import { ConstraintOperator, PlacementPolicy, TaskState } from '../../gen/machinehub/task/v1/task.js';
import type { MachineRecord, TaskRecord } from '../../server/control/records.js';
import { SQLITE_FILE_NAME, SqliteStore } from '../../server/store/SqliteStore.js';

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

/** A task with every field set to a value other than its default. */
function fullTask(id: string, seq: number): TaskRecord {
  return {
    id,
    spec: {
      id,
      name: 'train shard 3',
      resources: { cpuMilli: 2500, memoryMib: 8192, gpuCount: 0, gpuMilli: 250, gpuMemoryMib: 10240, gpuModels: ['A100', 'H100'] },
      priority: -7,
      command: 'python3',
      args: ['train.py', '--shard', '3', ''],
      env: { B: '2', A: 'ünïcode ✓' },
      stdin: Buffer.from([0, 1, 2, 255, 254, 10, 13]),
      constraints: [{ key: 'zone', operator: ConstraintOperator.CONSTRAINT_OPERATOR_IN, values: ['a', 'b'] }],
      policy: PlacementPolicy.PLACEMENT_POLICY_SPREAD,
      retry: { maxAttempts: 4, initialBackoff: { seconds: 1, nanos: 500_000_000 }, maxBackoff: { seconds: 60, nanos: 0 } },
      timeout: { seconds: 3600, nanos: 1_000_000 },
    },
    state: TaskState.TASK_STATE_RUNNING,
    reason: 'running on m-1',
    attempt: 2,
    machineId: 'm-1',
    gpuIndices: [1],
    attempts: [
      {
        number: 1,
        machineId: 'm-0',
        gpuIndices: [0],
        state: TaskState.TASK_STATE_FAILED,
        assignedTime: new Date('2026-01-02T03:04:05.006Z'),
        startedTime: new Date('2026-01-02T03:04:06.007Z'),
        finishedTime: new Date('2026-01-02T03:05:00.999Z'),
        exitCode: 137,
        error: 'killed by SIGKILL',
      },
      {
        number: 2,
        machineId: 'm-1',
        gpuIndices: [1],
        state: TaskState.TASK_STATE_RUNNING,
        assignedTime: new Date('2026-01-02T03:06:00.001Z'),
        startedTime: undefined,
        finishedTime: undefined,
        exitCode: -1,
        error: '',
      },
    ],
    createTime: new Date('2026-01-02T03:04:00.123Z'),
    startTime: new Date('2026-01-02T03:06:01.002Z'),
    finishTime: undefined,
    exitCode: -1,
    error: 'killed by SIGKILL',
    outputTail: 'line 1\nline 2 ✓\n',
    cancelRequested: true,
    seq,
    gpuMilli: 250,
    retryAtMs: 1_767_323_163_000,
  };
}

function fullMachine(id: string): MachineRecord {
  return {
    id,
    capacity: { cpuMilli: 64_000, memoryMib: 515_072, gpus: [{ index: 0, model: 'A100', memoryMib: 40_960 }, { index: 1, model: 'A100', memoryMib: 40_960 }] },
    labels: { zone: 'a', pool: 'train' },
    declared: true,
    status: MachineStatus.MACHINE_STATUS_DISCONNECTED,
    statusReason: 'stream ended: cancelled',
    agentId: 'agent-7',
    lastHeartbeatTime: new Date('2026-01-02T03:04:05.678Z'),
  };
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
