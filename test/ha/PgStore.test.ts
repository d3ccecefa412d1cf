import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';

import { TaskState } from '../../gen/machinehub/task/v1/task.js';
import { PgLeadership } from '../../server/ha/PgLeadership.js';
import { PgStore } from '../../server/store/PgStore.js';
import { fullMachine, fullTask } from '../store/fullRecords.js';
import { createTestDatabase, TEST_PG_URL } from './testDatabase.js';

const silentLogger = pino({ level: 'silent' });
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Opens a store as the leader of `url`; close() releases the leadership for the next one. */
async function openLeaderStore(url: string): Promise<{ store: PgStore; close(): Promise<void> }> {
  const leadership = await PgLeadership.open(url, silentLogger);
  await leadership.acquired(new AbortController().signal, '127.0.0.1:1');
  const store = new PgStore(url, leadership, silentLogger);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await store.close();
    await leadership.close();
  };
  cleanups.push(close);
  return { store, close };
}

describe.skipIf(!TEST_PG_URL)('PgStore', () => {
  it('round-trips tasks and machines exactly', async () => {
    const database = await createTestDatabase(TEST_PG_URL!);
    cleanups.push(() => database.drop());
    const writer = await openLeaderStore(database.url);
    const store = writer.store;
    await store.load();
    const task = fullTask('t-full', 7);
    store.saveTask(task);
    store.saveMachine(fullMachine('m-1'));
    store.saveMachine(fullMachine('m-gone'));
    await store.flush();
    task.state = TaskState.TASK_STATE_COMPLETED;
    store.saveTask(task);
    store.deleteMachine('m-gone');
    await store.flush();
    await writer.close();

    const reader = await openLeaderStore(database.url);
    const state = await reader.store.load();
    expect(state.tasks).toEqual([task]);
    expect(state.tasks[0]!.spec.stdin).toBeInstanceOf(Buffer);
    expect(state.machines).toEqual([fullMachine('m-1')]);
  });
});
