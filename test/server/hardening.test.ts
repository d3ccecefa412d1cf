import { ClientError, Status, createChannel, createClient } from 'nice-grpc';
import { describe, expect, it } from 'vitest';
import { AgentServiceDefinition, type ConnectRequest, type ConnectResponse } from '../../gen/machinehub/agent/v1/agent.js';
import { MachineStatus } from '../../gen/machinehub/machine/v1/machine.js';
import { TaskServiceDefinition, TaskState } from '../../gen/machinehub/task/v1/task.js';
import { RequestQueue } from '../../agent/RequestQueue.js';
import { MAX_QUEUED_BYTES } from '../../server/grpc/AgentSession.js';
import { inState, onCleanup, spawnAgent, startTestServer, taskSpec, waitFor, waitForMachine, waitForTask } from '../support/cluster.js';

const CAPACITY = { cpuMilli: 4000, memoryMib: 4096, gpus: [] };

/** Opens a raw agent stream that the test drives message by message. */
function rawAgent(address: string, agentId: string, machineId: string) {
  const channel = createChannel(address);
  onCleanup(() => channel.close());
  const agents = createClient(AgentServiceDefinition, channel);
  const requests = new RequestQueue<ConnectRequest>();
  const responses: ConnectResponse[] = [];
  const abort = new AbortController();
  onCleanup(() => abort.abort());
  requests.push({ kind: { $case: 'register', register: { agentId, machineId, capacity: CAPACITY, labels: {}, running: [], protocolVersion: 1 } } });
  let ended: Status | undefined;
  void (async () => {
    try {
      for await (const response of agents.connect(requests, { signal: abort.signal })) {
        responses.push(response);
        if (response.kind?.$case === 'assignTask') {
          const { taskId, attempt } = response.kind.assignTask;
          requests.push({ kind: { $case: 'taskStatus', taskStatus: { taskId, attempt, state: TaskState.TASK_STATE_RUNNING, exitCode: 0, error: '', outputTail: '' } } });
        }
      }
      ended = Status.OK;
    } catch (error) {
      ended = error instanceof ClientError ? error.code : Status.UNKNOWN;
    }
  })();
  return { requests, responses, abort, endedWith: () => ended };
}

async function rejection(call: Promise<unknown>): Promise<ClientError> {
  try {
    await call;
  } catch (error) {
    if (error instanceof ClientError) return error;
    throw error;
  }
  throw new Error('call succeeded, expected a rejection');
}

describe('agent identity changes', () => {
  it('moving agent loses its old machine', async () => {
    const { server, client } = await startTestServer();
    const first = rawAgent(server.address, 'x', 'old-box');
    await waitForMachine(client, 'old-box');
    await client.tasks.submitTasks({ tasks: [taskSpec({ id: 'T', retry: { maxAttempts: 2, initialBackoff: { seconds: 0, nanos: 0 }, maxBackoff: undefined } })] });
    await waitForTask(client, 'T', inState(TaskState.TASK_STATE_RUNNING), 'running');

    rawAgent(server.address, 'x', 'new-box');
    await waitForMachine(client, 'old-box', MachineStatus.MACHINE_STATUS_LOST, 5_000);
    const task = await waitForTask(client, 'T', (t) => t.attempt === 2 && t.machineId === 'new-box', 'placed on new-box');
    expect(task.attempts[0]?.error).toContain('now serves machine new-box');
    first.abort.abort();
  });

  it('new agent keeps a taken-over machine', async () => {
    const { server, client } = await startTestServer();
    const a = rawAgent(server.address, 'a', 'shared');
    await waitForMachine(client, 'shared');
    a.abort.abort();
    await waitForMachine(client, 'shared', MachineStatus.MACHINE_STATUS_DISCONNECTED);
    const b = rawAgent(server.address, 'b', 'shared');
    await waitForMachine(client, 'shared');
    await client.tasks.submitTasks({ tasks: [taskSpec({ id: 'on-b' })] });
    await waitForTask(client, 'on-b', inState(TaskState.TASK_STATE_RUNNING), 'running');

    // Past agent a's lost timeout, with b heartbeating: nothing may be lost.
    const beat = setInterval(() => b.requests.push({ kind: { $case: 'heartbeat', heartbeat: { sequence: 1, running: [{ taskId: 'on-b', attempt: 1 }] } } }), 100);
    onCleanup(() => clearInterval(beat));
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect((await client.machines.getMachine({ id: 'shared' })).machine?.status).toBe(MachineStatus.MACHINE_STATUS_READY);
    const task = (await client.tasks.getTask({ id: 'on-b' })).task;
    expect(task?.state).toBe(TaskState.TASK_STATE_RUNNING);
    expect(task?.attempt).toBe(1);
  });
});

describe('drain and removal', () => {
  it('drain survives a reconnect', async () => {
    const { server, client } = await startTestServer();
    const first = rawAgent(server.address, 'd', 'd');
    await waitForMachine(client, 'd');
    await client.machines.drainMachine({ id: 'd', deadlineSeconds: 60 });
    first.abort.abort();
    await waitForMachine(client, 'd', MachineStatus.MACHINE_STATUS_DISCONNECTED);

    const second = rawAgent(server.address, 'd', 'd');
    await waitForMachine(client, 'd', MachineStatus.MACHINE_STATUS_DRAINING);
    await waitFor('drain sent again', () => second.responses.some((r) => r.kind?.$case === 'drainRequested'));
    await client.tasks.submitTasks({ tasks: [taskSpec({ id: 'kept-out' })] });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await client.tasks.getTask({ id: 'kept-out' })).task?.state).toBe(TaskState.TASK_STATE_QUEUED);
  });

  it('removed machine stops its agent', async () => {
    const { server, client } = await startTestServer();
    const agent = spawnAgent(server.address, 'gone', ['--cpus', '1', '--memory-mib', '512']);
    await waitForMachine(client, 'gone');
    await client.machines.removeMachine({ id: 'gone' });
    const exit = await agent.exited;
    expect(exit.code).not.toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const { machines } = await client.machines.listMachines({ statuses: [], pageSize: 0, pageToken: '' });
    expect(machines).toHaveLength(0);
  });
});

describe('protocol errors', () => {
  it('second register ends with INVALID_ARGUMENT', async () => {
    const { server, client } = await startTestServer();
    const agent = rawAgent(server.address, 'twice', 'twice');
    await waitForMachine(client, 'twice');
    agent.requests.push({ kind: { $case: 'register', register: { agentId: 'twice', machineId: 'twice', capacity: CAPACITY, labels: {}, running: [], protocolVersion: 1 } } });
    await waitFor('stream ended', () => agent.endedWith() !== undefined);
    expect(agent.endedWith()).toBe(Status.INVALID_ARGUMENT);
  });
});

describe('bounded server memory', () => {
  it('repeated stale attempts cancel once', async () => {
    const { server, client } = await startTestServer({ heartbeatIntervalMs: 5_000, leaseTimeoutMs: 120_000 });
    const agent = rawAgent(server.address, 'noisy', 'noisy');
    await waitForMachine(client, 'noisy');
    const running = Array.from({ length: 5_000 }, (_, i) => ({ taskId: `ghost-${i}`, attempt: 1 }));
    for (let beat = 1; beat <= 5; beat++) agent.requests.push({ kind: { $case: 'heartbeat', heartbeat: { sequence: beat, running } } });
    await waitFor('cancels sent', () => agent.responses.filter((r) => r.kind?.$case === 'cancelTask').length >= 5_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(agent.responses.filter((r) => r.kind?.$case === 'cancelTask')).toHaveLength(5_000);
  });

  it('message queue is bounded by bytes', { timeout: 120_000 }, async () => {
    // A long lease: the stalled agent sends no heartbeats.
    const { server, client } = await startTestServer({ heartbeatIntervalMs: 5_000, leaseTimeoutMs: 120_000 });
    // An agent that never reads: a raw HTTP/2 peer would hold data unread; a
    // stream whose responses are never pulled does the same here.
    const channel = createChannel(server.address);
    onCleanup(() => channel.close());
    const stalled = createClient(AgentServiceDefinition, channel);
    const requests = new RequestQueue<ConnectRequest>();
    requests.push({ kind: { $case: 'register', register: { agentId: 'deaf', machineId: 'deaf', capacity: CAPACITY, labels: {}, running: [], protocolVersion: 1 } } });
    const iterator = stalled.connect(requests)[Symbol.asyncIterator]();
    await iterator.next();
    onCleanup(() => void iterator.return?.());

    const payload = Buffer.alloc(3 * 1024 * 1024, 7);
    let accepted = 0;
    let code: Status | undefined;
    while (code === undefined && accepted < 40) {
      try {
        await client.agents.sendAgentMessage({ toAgentId: 'deaf', topic: 'bulk', payload, from: 'test' });
        accepted += 1;
      } catch (error) {
        code = error instanceof ClientError ? error.code : Status.UNKNOWN;
      }
    }
    // Some messages sit in grpc-js buffers of both ends (one process here); past those, the queue bound holds.
    expect(code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(server.hub.queueBytes('deaf')).toBeGreaterThan(MAX_QUEUED_BYTES - payload.length);
    expect(server.hub.queueBytes('deaf')).toBeLessThanOrEqual(MAX_QUEUED_BYTES);
  });

  it('reports are clipped to 4 KiB', async () => {
    const { server, client } = await startTestServer({ heartbeatIntervalMs: 5_000, leaseTimeoutMs: 120_000 });
    const agent = rawAgent(server.address, 'chatty', 'chatty');
    await waitForMachine(client, 'chatty');
    await client.tasks.submitTasks({ tasks: [taskSpec({ id: 'loud', retry: { maxAttempts: 1, initialBackoff: undefined, maxBackoff: undefined } })] });
    await waitForTask(client, 'loud', inState(TaskState.TASK_STATE_RUNNING), 'running');
    // Two fields of 1.5 MiB: together under the 4 MiB message limit, each far over 4 KiB.
    const huge = 'x'.repeat(1.5 * 1024 * 1024);
    agent.requests.push({ kind: { $case: 'taskStatus', taskStatus: { taskId: 'loud', attempt: 1, state: TaskState.TASK_STATE_FAILED, exitCode: 2, error: huge, outputTail: huge } } });
    const task = await waitForTask(client, 'loud', inState(TaskState.TASK_STATE_FAILED), 'failed');
    expect(task.error.length).toBe(4096);
    expect(task.outputTail.length).toBe(4096);
  });
});

describe('large responses', () => {
  it('rejects a batch whose response is too large', async () => {
    const { server, client } = await startTestServer();
    const channel = createChannel(server.address, undefined, { 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
    onCleanup(() => channel.close());
    const tasks = createClient(TaskServiceDefinition, channel);
    const batch = Array.from({ length: 10_000 }, (_, i) => taskSpec({ name: `n-${i}`, args: ['x'.repeat(330)] }));
    const error = await rejection(tasks.submitTasks({ tasks: batch }));
    expect(error.code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(error.details).toContain('submit fewer or smaller tasks per call');
    expect((await client.tasks.listTasks({ state: 0, pageSize: 0, pageToken: '' })).tasks).toHaveLength(0);
  });

  it('pages large tasks by bytes', async () => {
    const { client } = await startTestServer();
    const stdin = Buffer.alloc(3 * 1024 * 1024, 1);
    await client.tasks.submitTasks({ tasks: [taskSpec({ id: 'big-1', stdin })] });
    await client.tasks.submitTasks({ tasks: [taskSpec({ id: 'big-2', stdin })] });
    const first = await client.tasks.listTasks({ state: 0, pageSize: 0, pageToken: '' });
    expect(first.tasks.map((task) => task.id)).toEqual(['big-1']);
    const second = await client.tasks.listTasks({ state: 0, pageSize: 0, pageToken: first.nextPageToken });
    expect(second.tasks.map((task) => task.id)).toEqual(['big-2']);
    expect(second.nextPageToken).toBe('');
  });
});

describe('contradicting reports', () => {
  it('completed with nonzero exit fails', async () => {
    const { server, client } = await startTestServer({ heartbeatIntervalMs: 5_000, leaseTimeoutMs: 120_000 });
    const agent = rawAgent(server.address, 'odd', 'odd');
    await waitForMachine(client, 'odd');
    await client.tasks.submitTasks({ tasks: [taskSpec({ id: 'odd-task', retry: { maxAttempts: 1, initialBackoff: undefined, maxBackoff: undefined } })] });
    await waitForTask(client, 'odd-task', inState(TaskState.TASK_STATE_RUNNING), 'running');
    agent.requests.push({
      kind: { $case: 'taskStatus', taskStatus: { taskId: 'odd-task', attempt: 1, state: TaskState.TASK_STATE_COMPLETED, exitCode: 137, error: '', outputTail: '' } },
    });
    const task = await waitForTask(client, 'odd-task', inState(TaskState.TASK_STATE_FAILED), 'failed');
    expect(task.exitCode).toBe(137);
    expect(task.error).toBe('reported completed with exit code 137');
  });
});
