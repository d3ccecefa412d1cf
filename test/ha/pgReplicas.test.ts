import { ClientError, Metadata, Status, createChannel, createClient } from 'nice-grpc';
import { afterEach, describe, expect, it } from 'vitest';

import { TaskServiceDefinition, TaskSpec, TaskState } from '../../gen/machinehub/task/v1/task.js';
import { createMachinehubClient } from '../../client/index.js';
import { startServer, type RunningServer } from '../../server/index.js';
import { waitFor } from '../agent/waitFor.js';
import { runCrashTest } from '../store/harness/runCrashTest.js';
import { createTestDatabase, TEST_PG_URL, withAdmin } from './testDatabase.js';

if (!TEST_PG_URL) {
  console.warn('PostgreSQL replica tests skipped: set MACHINEHUB_TEST_PG_URL, for example to the output of scripts/start-postgres.sh');
}

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function newDatabase(): Promise<string> {
  const database = await createTestDatabase(TEST_PG_URL!);
  cleanups.push(() => database.drop());
  return database.url;
}

async function startReplica(postgresUrl: string): Promise<RunningServer> {
  const server = await startServer({ listen: '127.0.0.1:0', postgresUrl, logLevel: 'silent', heartbeatIntervalMs: 200 });
  cleanups.push(() => server.close());
  return server;
}

function taskClient(address: string) {
  const channel = createChannel(address);
  cleanups.push(() => channel.close());
  return createClient(TaskServiceDefinition, channel);
}

function spec(id: string): TaskSpec {
  return { ...TaskSpec.fromJSON({}), id, command: 'true', resources: { cpuMilli: 100, memoryMib: 16, gpuCount: 0, gpuMilli: 0, gpuMemoryMib: 0, gpuModels: [] } };
}

/** Returns whether a replica serves task calls now. */
async function serves(address: string): Promise<boolean> {
  try {
    await taskClient(address).listTasks({ state: TaskState.TASK_STATE_UNSPECIFIED, pageSize: 1, pageToken: '' });
    return true;
  } catch {
    return false;
  }
}

/** Waits until exactly one of two replicas serves, and returns [leader, follower]. */
async function electedPair(a: RunningServer, b: RunningServer): Promise<[RunningServer, RunningServer]> {
  return waitFor('one leader', async () => {
    const [aServes, bServes] = await Promise.all([serves(a.address), serves(b.address)]);
    if (aServes === bServes) return undefined;
    return aServes ? ([a, b] as [RunningServer, RunningServer]) : ([b, a] as [RunningServer, RunningServer]);
  });
}

describe.skipIf(!TEST_PG_URL)('PostgreSQL replicas', () => {
  it('two replicas elect one leader', async () => {
    const url = await newDatabase();
    const [leader, follower] = await electedPair(await startReplica(url), await startReplica(url));

    // Two seconds is two poll intervals: the follower keeps trying and keeps failing.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await serves(leader.address)).toBe(true);
    expect(await serves(follower.address)).toBe(false);
  });

  it('follower answers with leader trailer', async () => {
    const url = await newDatabase();
    const [leader, follower] = await electedPair(await startReplica(url), await startReplica(url));

    let trailer: Metadata | undefined;
    const error = await taskClient(follower.address)
      .getTask({ id: 'any' }, { onTrailer: (metadata) => (trailer = metadata) })
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ClientError);
    expect((error as ClientError).code).toBe(Status.UNAVAILABLE);
    expect(trailer?.get('machinehub-leader')).toBe(leader.address);

    // The machinehub client follows the trailer to the leader.
    const client = createMachinehubClient(follower.address);
    cleanups.push(() => client.close());
    const { tasks } = await client.tasks.submitTasks({ tasks: [spec('through-follower')] });
    expect(tasks.map((task) => task.id)).toEqual(['through-follower']);
    expect(client.address).toBe(leader.address);
  });

  it('failover keeps accepted tasks', async () => {
    const url = await newDatabase();
    const [leader, follower] = await electedPair(await startReplica(url), await startReplica(url));
    await taskClient(leader.address).submitTasks({ tasks: [spec('kept-1'), spec('kept-2')] });
    await taskClient(leader.address).cancelTask({ id: 'kept-2' });

    await leader.close();
    await waitFor('follower serving', () => serves(follower.address), 15_000);

    const { tasks } = await taskClient(follower.address).listTasks({ state: TaskState.TASK_STATE_UNSPECIFIED, pageSize: 0, pageToken: '' });
    expect(tasks.map((task) => [task.id, TaskState[task.state]])).toEqual([
      ['kept-1', 'TASK_STATE_QUEUED'],
      ['kept-2', 'TASK_STATE_CANCELLED'],
    ]);
  });

  it('deposed leader cannot commit', async () => {
    const url = await newDatabase();
    const [leader] = await electedPair(await startReplica(url), await startReplica(url));
    await taskClient(leader.address).submitTasks({ tasks: [spec('before')] });

    // What a successor's takeover does to the row; the old leader still holds the lock.
    await withAdmin(url, (client) => client.query('UPDATE leader SET epoch = epoch + 1'));
    const error = await taskClient(leader.address)
      .submitTasks({ tasks: [spec('after')] })
      .catch((caught: unknown) => caught);

    expect((error as ClientError).code).toBe(Status.UNAVAILABLE);
    expect((error as ClientError).details).toMatch(/leader epoch \d+ is no longer current: another replica took over/);
    const rows = await withAdmin(url, (client) => client.query<{ id: string }>('SELECT id FROM tasks ORDER BY id'));
    expect(rows.rows.map((row) => row.id)).toEqual(['before']);
    await waitFor('old leader stopped', async () => !(await serves(leader.address)));
  });

  it('lost lock connection stops leader', async () => {
    const url = await newDatabase();
    const [leader, follower] = await electedPair(await startReplica(url), await startReplica(url));
    const epochBefore = await withAdmin(url, async (client) => (await client.query<{ epoch: string }>('SELECT epoch FROM leader')).rows[0]!.epoch);

    // Ends the leader's lock session the way a network cut or a database restart would.
    await withAdmin(url, (client) =>
      client.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'machinehub-leadership' AND pid = (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))",
      ),
    );

    await waitFor('follower serving', () => serves(follower.address), 15_000);
    expect(await serves(leader.address)).toBe(false);
    const epochAfter = await withAdmin(url, async (client) => (await client.query<{ epoch: string }>('SELECT epoch FROM leader')).rows[0]!.epoch);
    expect(Number(epochAfter)).toBe(Number(epochBefore) + 1);
  });

  it('follower reconnects after lost session', async () => {
    const url = await newDatabase();
    const [leader, follower] = await electedPair(await startReplica(url), await startReplica(url));
    const lockHolders = "(SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))";

    // End the follower's session (the one not holding the lock), then the leader's.
    await withAdmin(url, (client) =>
      client.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'machinehub-leadership' AND datname = current_database() AND pid NOT IN ${lockHolders}`),
    );
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await serves(follower.address)).toBe(false);
    await withAdmin(url, (client) => client.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid IN ${lockHolders}`));

    await waitFor('follower serving', () => serves(follower.address), 15_000);
    expect(await serves(leader.address)).toBe(false);
  });

  it('survives leader SIGKILL under load', async () => {
    const url = await newDatabase();
    const summary = await runCrashTest({ kills: 2, tasks: 150, store: { kind: 'postgres', url, replicas: 2 } });

    expect(summary.violations).toEqual([]);
    expect(summary.acknowledged).toBe(150);
  }, 180_000);
});
