import { createChannel, createClient, type Channel } from 'nice-grpc';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';

import { AgentServiceDefinition, AgentState } from '../../gen/machinehub/agent/v1/agent.js';
import { MachineServiceDefinition, MachineStatus } from '../../gen/machinehub/machine/v1/machine.js';
import { TaskServiceDefinition, TaskSpec, TaskState } from '../../gen/machinehub/task/v1/task.js';
import { connectAgent, MessageNotDeliveredError, runAgent, type AgentSession } from '../../agent/index.js';
import { startServer } from '../../server/index.js';
import { waitFor } from './waitFor.js';

const silentLogger = pino({ level: 'silent' });

/** Everything a test started, stopped in reverse order after it. */
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    await cleanup();
  }
});

async function startTestServer(listen = '127.0.0.1:0') {
  const server = await startServer({ listen, inMemory: true, logLevel: 'silent', heartbeatIntervalMs: 200, cancelGraceMs: 300 });
  cleanups.push(() => server.close());
  return server;
}

function createClients(address: string) {
  const channel: Channel = createChannel(address);
  cleanups.push(() => channel.close());
  return {
    tasks: createClient(TaskServiceDefinition, channel),
    machines: createClient(MachineServiceDefinition, channel),
    agents: createClient(AgentServiceDefinition, channel),
  };
}

function taskSpec(spec: Partial<TaskSpec>): TaskSpec {
  return { ...TaskSpec.fromJSON({}), resources: { cpuMilli: 100, memoryMib: 16, gpuCount: 0, gpuMilli: 0, gpuMemoryMib: 0, gpuModels: [] }, ...spec };
}

async function connectTestAgent(server: string, agentId: string, extra: Partial<Parameters<typeof connectAgent>[0]> = {}): Promise<AgentSession> {
  const session = await connectAgent({
    server,
    agentId,
    capacity: { cpuMilli: 4000, memoryMib: 4096 },
    logger: silentLogger,
    maxReconnectBackoffMs: 300,
    ...extra,
  });
  cleanups.push(() => session.close());
  return session;
}

describe('agent end to end', () => {
  it('runs a command through runAgent', async () => {
    const server = await startTestServer();
    const clients = createClients(server.address);
    const controller = new AbortController();
    const agentDone = runAgent(
      { server: server.address, agentId: 'e2e-run', cpuMilli: 2000, memoryMib: 2048, gpuCount: 1, gpuModel: 'A100', gpuMemoryMib: 40960, logLevel: 'silent' },
      controller.signal,
    );
    cleanups.push(async () => {
      controller.abort();
      await agentDone.catch(() => {});
    });

    const machine = await waitFor('machine e2e-run ready', async () => {
      const { machines } = await clients.machines.listMachines({ statuses: [], pageSize: 0, pageToken: '' });
      return machines.find((candidate) => candidate.id === 'e2e-run' && candidate.status === MachineStatus.MACHINE_STATUS_READY);
    });
    expect(machine.capacity?.gpus).toEqual([{ index: 0, model: 'A100', memoryMib: 40960 }]);

    const script = 'echo "task=$MACHINEHUB_TASK_ID attempt=$MACHINEHUB_ATTEMPT gpus=$CUDA_VISIBLE_DEVICES"; cat';
    const resources = { cpuMilli: 500, memoryMib: 64, gpuCount: 1, gpuMilli: 0, gpuMemoryMib: 0, gpuModels: [] };
    const { tasks } = await clients.tasks.submitTasks({
      tasks: [taskSpec({ id: 'hello', command: 'sh', args: ['-c', script], stdin: Buffer.from('from stdin\n'), resources })],
    });
    expect(tasks).toHaveLength(1);

    const task = await waitFor('task hello completed', async () => {
      const { task: current } = await clients.tasks.getTask({ id: 'hello' });
      return current?.state === TaskState.TASK_STATE_COMPLETED || current?.state === TaskState.TASK_STATE_FAILED ? current : undefined;
    });
    expect(TaskState[task.state]).toBe('TASK_STATE_COMPLETED');
    expect(task.exitCode).toBe(0);
    expect(task.outputTail).toBe('task=hello attempt=1 gpus=0\nfrom stdin\n');

    controller.abort();
    await agentDone;
    const { agents } = await clients.agents.listAgents({});
    expect(agents.find((agent) => agent.id === 'e2e-run')?.state).toBe(AgentState.AGENT_STATE_LEFT);
  });

  it('cancels a command ignoring SIGTERM', async () => {
    const server = await startTestServer();
    const clients = createClients(server.address);
    const controller = new AbortController();
    const agentDone = runAgent({ server: server.address, agentId: 'e2e-cancel', cpuMilli: 2000, memoryMib: 2048, logLevel: 'silent' }, controller.signal);
    cleanups.push(async () => {
      controller.abort();
      await agentDone.catch(() => {});
    });

    await clients.tasks.submitTasks({ tasks: [taskSpec({ id: 'stubborn', command: 'sh', args: ['-c', 'trap "" TERM; echo started; sleep 60'] })] });
    await waitFor('task stubborn running', async () => (await clients.tasks.getTask({ id: 'stubborn' })).task?.state === TaskState.TASK_STATE_RUNNING);

    const cancelTime = Date.now();
    await clients.tasks.cancelTask({ id: 'stubborn' });
    const task = await waitFor('task stubborn cancelled', async () => {
      const { task: current } = await clients.tasks.getTask({ id: 'stubborn' });
      return current?.state === TaskState.TASK_STATE_CANCELLED ? current : undefined;
    });

    expect(task.exitCode).toBe(-1);
    expect(task.outputTail).toBe('started\n');
    // The server's cancel grace period is 300 ms; SIGKILL ends the group after it.
    expect(Date.now() - cancelTime).toBeLessThan(5_000);
  });

  it('delivers messages between SDK agents', async () => {
    const server = await startTestServer();
    const received: Array<{ from: string; topic: string; payload: string }> = [];
    const alice = await connectTestAgent(server.address, 'alice');
    await connectTestAgent(server.address, 'bob', {
      onMessage: (message) => {
        received.push({ from: message.fromAgentId, topic: message.topic, payload: message.payload.toString('utf8') });
      },
    });

    await alice.send('bob', 'greeting', 'hello bob');
    await alice.send('bob', 'greeting', new Uint8Array([104, 105]));

    await waitFor('two messages at bob', () => received.length === 2);
    expect(received).toEqual([
      { from: 'alice', topic: 'greeting', payload: 'hello bob' },
      { from: 'alice', topic: 'greeting', payload: 'hi' },
    ]);
  });

  it('rejects messages to unknown agents', async () => {
    const server = await startTestServer();
    const alice = await connectTestAgent(server.address, 'alice');

    const error = await alice.send('nobody', 'greeting', 'hello').catch((err: unknown) => err);

    expect(error).toBeInstanceOf(MessageNotDeliveredError);
    expect((error as MessageNotDeliveredError).code).toBe('NOT_FOUND');
    expect((error as MessageNotDeliveredError).toAgentId).toBe('nobody');
  });

  it('rejects an invalid agent id', async () => {
    const server = await startTestServer();

    const error = await connectAgent({ server: server.address, agentId: 'bad id!', capacity: { cpuMilli: 1000, memoryMib: 1024 }, logger: silentLogger }).catch(
      (err: unknown) => err,
    );

    expect(error).toBeInstanceOf(Error);
    expect((error as { code?: string }).code).toBe('INVALID_ARGUMENT');
    expect((error as Error).message).toMatch(/agent_id/);
  });

  it('runs tasks through an SDK handler', async () => {
    const server = await startTestServer();
    const clients = createClients(server.address);
    const seen: string[] = [];
    await connectTestAgent(server.address, 'sdk-worker', {
      onTask: (assignment) => {
        seen.push(`${assignment.taskId}:${assignment.spec?.command}`);
        return { exitCode: 0, outputTail: 'simulated' };
      },
    });

    await clients.tasks.submitTasks({ tasks: [taskSpec({ id: 'simulated-task', command: 'machinehub-no-such-command' })] });
    const task = await waitFor('simulated task completed', async () => {
      const { task: current } = await clients.tasks.getTask({ id: 'simulated-task' });
      return current?.state === TaskState.TASK_STATE_COMPLETED ? current : undefined;
    });

    expect(task.outputTail).toBe('simulated');
    expect(seen).toEqual(['simulated-task:machinehub-no-such-command']);
  });

  it('drains on DrainMachine and leaves', async () => {
    const server = await startTestServer();
    const clients = createClients(server.address);
    const session = await connectTestAgent(server.address, 'drained');

    await clients.machines.drainMachine({ id: 'drained', deadlineSeconds: 5 });
    await session.closed;

    const { agents } = await clients.agents.listAgents({});
    expect(agents.find((agent) => agent.id === 'drained')?.state).toBe(AgentState.AGENT_STATE_LEFT);
  });

  it('reconnects after the server restarts', async () => {
    const first = await startTestServer();
    const address = first.address;
    const clients = createClients(address);
    let handlerSignal: AbortSignal | undefined;
    const session = await connectTestAgent(address, 'survivor', {
      onTask: (_assignment, signal) => {
        handlerSignal = signal;
        return new Promise((resolve) => signal.addEventListener('abort', () => resolve(-1)));
      },
    });

    await clients.tasks.submitTasks({ tasks: [taskSpec({ id: 'long-task', command: 'x' })] });
    await waitFor('long task running', async () => (await clients.tasks.getTask({ id: 'long-task' })).task?.state === TaskState.TASK_STATE_RUNNING);

    await first.close();
    await waitFor('agent disconnected', () => !session.isConnected);

    // The new server listens on the same port, with no memory of the task.
    const second = await startTestServer(address);
    await waitFor('agent reconnected', () => session.isConnected);
    const { agents } = await clients.agents.listAgents({});
    expect(agents.find((agent) => agent.id === 'survivor')?.state).toBe(AgentState.AGENT_STATE_CONNECTED);
    expect(second.address).toBe(address);

    // The agent listed the attempt in RegisterAgent.running; the new server
    // does not know it, so it sends CancelTask and the handler stops.
    await waitFor('stale attempt cancelled', () => handlerSignal?.aborted === true);
    await waitFor('no running attempts', () => session.running.length === 0);
  });
});
