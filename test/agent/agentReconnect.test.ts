import { createChannel, createClient } from 'nice-grpc';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';

import { TaskServiceDefinition, TaskSpec, TaskState } from '../../gen/machinehub/task/v1/task.js';
import { connectAgent } from '../../agent/index.js';
import { startServer } from '../../server/index.js';
import { TcpProxy } from './TcpProxy.js';
import { waitFor } from './waitFor.js';

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    await cleanup();
  }
});

describe('agent reconnect', () => {
  it('reports results finished while disconnected', async () => {
    const server = await startServer({ listen: '127.0.0.1:0', inMemory: true, logLevel: 'silent', heartbeatIntervalMs: 200 });
    cleanups.push(() => server.close());
    const channel = createChannel(server.address);
    cleanups.push(() => channel.close());
    const tasks = createClient(TaskServiceDefinition, channel);

    const [host, port] = server.address.split(':');
    const proxy = new TcpProxy({ host: host ?? '127.0.0.1', port: Number(port) });
    await proxy.resume();
    cleanups.push(() => proxy.cut());

    let finishTask: ((exitCode: number) => void) | undefined;
    const session = await connectAgent({
      server: proxy.address,
      agentId: 'flaky',
      capacity: { cpuMilli: 1000, memoryMib: 1024 },
      logger: pino({ level: 'silent' }),
      maxReconnectBackoffMs: 200,
      onTask: () => new Promise<number>((resolve) => (finishTask = resolve)),
    });
    cleanups.push(() => session.close());

    const spec: TaskSpec = {
      ...TaskSpec.fromJSON({}),
      id: 'offline-finish',
      command: 'x',
      resources: { cpuMilli: 100, memoryMib: 16, gpuCount: 0, gpuMilli: 0, gpuMemoryMib: 0, gpuModels: [] },
    };
    await tasks.submitTasks({ tasks: [spec] });
    await waitFor('task running', async () => (await tasks.getTask({ id: 'offline-finish' })).task?.state === TaskState.TASK_STATE_RUNNING);

    await proxy.cut();
    await waitFor('agent disconnected', () => !session.isConnected);
    finishTask?.(0);
    // Let a few reconnect attempts fail while the result waits in the buffer.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await proxy.resume();

    const task = await waitFor('task completed', async () => {
      const { task: current } = await tasks.getTask({ id: 'offline-finish' });
      return current?.state === TaskState.TASK_STATE_COMPLETED || current?.state === TaskState.TASK_STATE_FAILED ? current : undefined;
    });
    expect(TaskState[task.state]).toBe('TASK_STATE_COMPLETED');
    expect(task.attempts).toHaveLength(1);
    expect(session.isConnected).toBe(true);
  });
});
