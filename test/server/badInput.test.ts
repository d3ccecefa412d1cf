import { ClientError, Status, createChannel, createClient } from 'nice-grpc';
import { describe, expect, it } from 'vitest';
import { AgentServiceDefinition, type ConnectRequest } from '../../gen/machinehub/agent/v1/agent.js';
import { TaskServiceDefinition, TaskState, type TaskSpec } from '../../gen/machinehub/task/v1/task.js';
import type { MachinehubClient } from '../../client/index.js';
import { inState, onCleanup, spawnAgent, startTestServer, taskSpec, waitForMachine, waitForTask } from '../support/cluster.js';

async function rejection(call: Promise<unknown>): Promise<ClientError> {
  try {
    await call;
  } catch (error) {
    if (error instanceof ClientError) return error;
    throw error;
  }
  throw new Error('call succeeded, expected a rejection');
}

async function taskCount(client: MachinehubClient): Promise<number> {
  return (await client.tasks.listTasks({ state: 0, pageSize: 0, pageToken: '' })).tasks.length;
}

const INVALID_SPECS: [string, TaskSpec, string][] = [
  ['missing resources', { ...taskSpec(), resources: undefined }, 'tasks[0].resources: missing'],
  ['negative CPU', taskSpec({ resources: { cpuMilli: -5 } }), 'tasks[0].resources.cpu_milli: -5 is out of range 1 to'],
  ['zero CPU', taskSpec({ resources: { cpuMilli: 0 } }), 'tasks[0].resources.cpu_milli: 0 is out of range 1 to'],
  ['negative memory', taskSpec({ resources: { memoryMib: -1 } }), 'tasks[0].resources.memory_mib: -1 is out of range'],
  ['too many GPUs', taskSpec({ resources: { gpuCount: 65 } }), 'tasks[0].resources.gpu_count: 65 is out of range 0 to 64'],
  ['share over 1000', taskSpec({ resources: { gpuMilli: 1500 } }), 'tasks[0].resources.gpu_milli: 1500 is out of range 0 to 1000'],
  ['count and share', taskSpec({ resources: { gpuCount: 1, gpuMilli: 500 } }), 'set one of them'],
  ['GPU memory alone', taskSpec({ resources: { gpuMemoryMib: 100 } }), 'gpu_memory_mib: 100 set without gpu_count'],
  ['empty command', taskSpec({ command: '  ' }), 'tasks[0].command: is missing'],
  ['invalid id', taskSpec({ id: 'has space' }), 'tasks[0].id: "has space" is invalid'],
  ['negative timeout', taskSpec({ timeout: { seconds: -1, nanos: 0 } }), 'tasks[0].timeout: -1s is negative'],
  [
    'attempts over limit',
    taskSpec({ retry: { maxAttempts: 101, initialBackoff: undefined, maxBackoff: undefined } }),
    'tasks[0].retry.max_attempts: 101 is out of range 0 to 100',
  ],
  ['EQUALS without value', taskSpec({ constraints: [{ key: 'zone', operator: 1, values: [] }] }), 'constraints[0].values: EQUALS takes exactly 1 value'],
  ['unset operator', taskSpec({ constraints: [{ key: 'zone', operator: 0, values: [] }] }), 'constraints[0].operator: 0 is not a known operator'],
];

describe('bad input', () => {
  it.each(INVALID_SPECS)('rejects %s', async (_name, spec, message) => {
    const { client } = await startTestServer();
    const before = await taskCount(client);
    const error = await rejection(client.tasks.submitTasks({ tasks: [spec] }));
    expect(error.code).toBe(Status.INVALID_ARGUMENT);
    expect(error.details).toContain(message);
    expect(await taskCount(client)).toBe(before);
  });

  it('rejects a batch atomically', async () => {
    const { client } = await startTestServer();
    const error = await rejection(client.tasks.submitTasks({ tasks: [taskSpec({ id: 'fine' }), taskSpec({ command: '' })] }));
    expect(error.code).toBe(Status.INVALID_ARGUMENT);
    expect(error.details).toContain('tasks[1].command');
    expect(await taskCount(client)).toBe(0);
  });

  it('rejects empty and duplicate batches', async () => {
    const { client } = await startTestServer();
    const empty = await rejection(client.tasks.submitTasks({ tasks: [] }));
    expect(empty.details).toContain('tasks: 0 tasks in the request, expected 1 to 10000');
    const twice = await rejection(client.tasks.submitTasks({ tasks: [taskSpec({ id: 'x' }), taskSpec({ id: 'x' })] }));
    expect(twice.details).toContain('tasks[1].id: "x" appears twice');
    expect(await taskCount(client)).toBe(0);
  });

  it('returns the same task on resubmission', async () => {
    const { client } = await startTestServer();
    const first = await client.tasks.submitTasks({ tasks: [taskSpec({ id: 'again', env: { A: '1', B: '2' } })] });
    const second = await client.tasks.submitTasks({ tasks: [taskSpec({ id: 'again', env: { B: '2', A: '1' } })] });
    expect(second.tasks[0]?.createTime).toEqual(first.tasks[0]?.createTime);
    const changed = await rejection(client.tasks.submitTasks({ tasks: [taskSpec({ id: 'again', command: 'other' })] }));
    expect(changed.code).toBe(Status.ALREADY_EXISTS);
    expect(changed.details).toContain('"again" exists with a different spec');
    expect(await taskCount(client)).toBe(1);
  });

  it('answers NOT_FOUND for unknown ids', async () => {
    const { client } = await startTestServer();
    const cases: [Promise<unknown>, string][] = [
      [client.tasks.getTask({ id: 'nope' }), 'task "nope" not found'],
      [client.tasks.cancelTask({ id: 'nope' }), 'task "nope" not found'],
      [client.machines.getMachine({ id: 'ghost' }), 'machine "ghost" not found'],
      [client.machines.removeMachine({ id: 'ghost' }), 'machine "ghost" not found'],
      [client.machines.drainMachine({ id: 'ghost', deadlineSeconds: 0 }), 'machine "ghost" not found'],
      [client.agents.sendAgentMessage({ toAgentId: 'ghost', topic: '', payload: Buffer.from('x'), from: '' }), 'agent "ghost" not found'],
    ];
    for (const [call, message] of cases) {
      const error = await rejection(call);
      expect(error.code).toBe(Status.NOT_FOUND);
      expect(error.details).toBe(message);
    }
  });

  it('rejects invalid machine registrations', async () => {
    const { client } = await startTestServer();
    const negative = await rejection(
      client.machines.registerMachine({ id: 'm', capacity: { cpuMilli: -1, memoryMib: 0, gpus: [] }, labels: {} }),
    );
    expect(negative.code).toBe(Status.INVALID_ARGUMENT);
    expect(negative.details).toContain('capacity.cpu_milli: -1 is out of range');
    const gap = await rejection(
      client.machines.registerMachine({
        id: 'm',
        capacity: { cpuMilli: 1000, memoryMib: 0, gpus: [{ index: 3, model: 'A', memoryMib: 1 }] },
        labels: {},
      }),
    );
    expect(gap.details).toContain('capacity.gpus[0].index: 3 is out of range 0 to 0');
    await client.machines.registerMachine({ id: 'm', capacity: { cpuMilli: 1000, memoryMib: 0, gpus: [] }, labels: {} });
    const duplicate = await rejection(
      client.machines.registerMachine({ id: 'm', capacity: { cpuMilli: 1000, memoryMib: 0, gpus: [] }, labels: {} }),
    );
    expect(duplicate.code).toBe(Status.ALREADY_EXISTS);
    expect((await client.machines.listMachines({ statuses: [], pageSize: 0, pageToken: '' })).machines).toHaveLength(1);
  });

  it('ends an agent stream with a bad registration', async () => {
    const { server, client } = await startTestServer();
    const channel = createChannel(server.address);
    onCleanup(() => channel.close());
    const agents = createClient(AgentServiceDefinition, channel);
    async function* requests(): AsyncGenerator<ConnectRequest> {
      yield { kind: { $case: 'register', register: { agentId: 'bad id', machineId: '', capacity: undefined, labels: {}, running: [], protocolVersion: 1 } } };
      await new Promise((resolve) => setTimeout(resolve, 5_000));
    }
    const error = await rejection((async () => {
      for await (const _ of agents.connect(requests())) void _;
    })());
    expect(error.code).toBe(Status.INVALID_ARGUMENT);
    expect(error.details).toContain('register.agent_id: "bad id" is invalid');
    expect((await client.machines.listMachines({ statuses: [], pageSize: 0, pageToken: '' })).machines).toHaveLength(0);
  });
});

describe('oversized input', () => {
  const OVERSIZED = 4_794_074;

  it('fails fast with both sizes', async () => {
    const { server, client } = await startTestServer();
    // A client whose own send limit is higher, so the server's limit is what rejects.
    const channel = createChannel(server.address, undefined, { 'grpc.max_send_message_length': 16 * 1024 * 1024 });
    onCleanup(() => channel.close());
    const tasks = createClient(TaskServiceDefinition, channel);
    const error = await rejection(tasks.submitTasks({ tasks: [taskSpec({ stdin: Buffer.alloc(OVERSIZED, 1) })] }));
    expect(error.code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(error.details).toMatch(/4794\d{3}/);
    expect(error.details).toContain('4194304');
    expect(await taskCount(client)).toBe(0);
  });

  it('fails in the default client too', async () => {
    const { client } = await startTestServer();
    const error = await rejection(client.tasks.submitTasks({ tasks: [taskSpec({ stdin: Buffer.alloc(OVERSIZED, 1) })] }));
    expect(error.code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(error.details).toContain('4194304');
    expect(await taskCount(client)).toBe(0);
  });

  it('keeps room for the assignment envelope', async () => {
    const { client } = await startTestServer();
    const error = await rejection(client.tasks.submitTasks({ tasks: [taskSpec({ stdin: Buffer.alloc(4_190_000, 1) })] }));
    expect(error.code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(error.details).toMatch(/tasks\[0\]: spec is 41900\d\d bytes, limit is 4128768 bytes/);
    expect(await taskCount(client)).toBe(0);
  });

  it('delivers the largest accepted spec', async () => {
    const { server, client } = await startTestServer();
    spawnAgent(server.address, 'big', ['--cpus', '2', '--memory-mib', '4096']);
    await waitForMachine(client, 'big');
    const stdinBytes = 4_128_768 - 200;
    const spec = taskSpec({ id: 'large', command: 'wc', args: ['-c'], stdin: Buffer.alloc(stdinBytes, 0x61) });
    await client.tasks.submitTasks({ tasks: [spec] });
    const done = await waitForTask(client, 'large', inState(TaskState.TASK_STATE_COMPLETED), 'completed');
    expect(done.outputTail.trim()).toBe(String(stdinBytes));
  });
});
