import { createServer, ServerError, Status, type CallContext, type Server } from 'nice-grpc';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createMachinehubClient, LEADER_METADATA_KEY, type MachinehubClient } from '../../client/index.js';
import { TaskServiceDefinition, type TaskServiceImplementation } from '../../gen/machinehub/task/v1/task.js';
import { startServer } from '../../server/index.js';
import { runMachinehub } from './runMachinehub.js';

let leader: Awaited<ReturnType<typeof startServer>>;
let follower: Server;
let followerAddress: string;
/** Leader address the follower names in its trailers; '' sends none. */
let namedLeader = '';
let client: MachinehubClient | undefined;

/** Rejects every call as a follower replica does: UNAVAILABLE with the leader in the trailers. */
function rejectAsFollower(context: CallContext): never {
  if (namedLeader !== '') {
    context.trailer.set(LEADER_METADATA_KEY, namedLeader);
  }
  throw new ServerError(Status.UNAVAILABLE, 'this replica is a follower');
}

beforeAll(async () => {
  leader = await startServer({ listen: '127.0.0.1:0', inMemory: true, logLevel: 'silent' });
  const implementation: TaskServiceImplementation = {
    submitTasks: async (_request, context) => rejectAsFollower(context),
    getTask: async (_request, context) => rejectAsFollower(context),
    listTasks: async (_request, context) => rejectAsFollower(context),
    cancelTask: async (_request, context) => rejectAsFollower(context),
    // eslint-disable-next-line require-yield
    watchTasks: async function* (_request, context) {
      rejectAsFollower(context);
    },
  };
  follower = createServer();
  follower.add(TaskServiceDefinition, implementation);
  const port = await follower.listen('127.0.0.1:0');
  followerAddress = `127.0.0.1:${port}`;
});

afterEach(() => {
  client?.close();
  client = undefined;
});

afterAll(async () => {
  await follower?.shutdown();
  await leader?.close();
});

describe('leader following', () => {
  test('unary call retries on leader', async () => {
    namedLeader = leader.address;
    client = createMachinehubClient(followerAddress);

    const response = await client.tasks.listTasks({ state: 0, pageSize: 10, pageToken: '' });

    expect(response.tasks).toEqual([]);
    expect(client.address).toBe(leader.address);
  });

  test('other services move too', async () => {
    namedLeader = leader.address;
    client = createMachinehubClient(followerAddress);

    await client.tasks.listTasks({ state: 0, pageSize: 10, pageToken: '' });
    const agents = await client.agents.listAgents({});

    expect(agents.agents).toEqual([]);
  });

  test('stream retries before first message', async () => {
    namedLeader = leader.address;
    const direct = createMachinehubClient(leader.address);
    await direct.tasks.submitTasks({ tasks: [taskSpec('stream-1')] });
    direct.close();
    client = createMachinehubClient(followerAddress);
    const controller = new AbortController();

    const events = client.tasks.watchTasks({ taskIds: ['stream-1'], includeCurrent: true }, { signal: controller.signal });
    const first = await events[Symbol.asyncIterator]().next();
    controller.abort();

    expect(first.done).toBe(false);
    expect(first.value?.task?.id).toBe('stream-1');
  });

  test('no leader trailer throws UNAVAILABLE', async () => {
    namedLeader = '';
    client = createMachinehubClient(followerAddress);

    const call = client.tasks.getTask({ id: 'x' });

    await expect(call).rejects.toMatchObject({ code: Status.UNAVAILABLE });
    expect(client.address).toBe(followerAddress);
  });

  test('CLI follows the leader', async () => {
    namedLeader = leader.address;

    const result = await runMachinehub(followerAddress, ['tasks', 'list']);

    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  });
});

function taskSpec(id: string) {
  return {
    id,
    name: '',
    resources: { cpuMilli: 1000, memoryMib: 0, gpuCount: 0, gpuMilli: 0, gpuMemoryMib: 0, gpuModels: [] },
    priority: 0,
    command: 'true',
    args: [],
    env: {},
    stdin: Buffer.alloc(0),
    constraints: [],
    policy: 0,
    retry: undefined,
    timeout: undefined,
  };
}
