import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';

import { connectAgent, type AgentSession } from '../../agent/index.js';
import { MachineStatus } from '../../gen/machinehub/machine/v1/machine.js';
import { TaskSpec, TaskState } from '../../gen/machinehub/task/v1/task.js';
import { createMachinehubClient } from '../../client/index.js';
import { startServer, type RunningServer } from '../../server/index.js';
import { waitFor } from '../agent/waitFor.js';
import { freePort } from './freePort.js';

const silentLogger = pino({ level: 'silent' });
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function newDataDir(): string {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'machinehub-restart-'));
  cleanups.push(() => rmSync(directory, { recursive: true, force: true }));
  return directory;
}

async function startOn(listen: string, dataDir: string, lostTimeoutMs = 5_000): Promise<RunningServer> {
  const server = await startServer({ listen, dataDir, logLevel: 'silent', heartbeatIntervalMs: 200, cancelGraceMs: 300, lostTimeoutMs });
  let closed = false;
  cleanups.push(() => (closed ? undefined : server.close()));
  return { ...server, close: async () => { closed = true; await server.close(); } };
}

function spec(id: string, command: string, cpuMilli = 500): TaskSpec {
  return {
    ...TaskSpec.fromJSON({}),
    id,
    command,
    stdin: Buffer.from([7, 0, 255]),
    env: { PHASE: 'restart' },
    resources: { cpuMilli, memoryMib: 64, gpuCount: 0, gpuMilli: 0, gpuMemoryMib: 0, gpuModels: [] },
  };
}

/** Starts an SDK agent whose "hold" tasks run until cancelled and whose other tasks finish at once. */
async function startAgent(server: string): Promise<AgentSession> {
  const session = await connectAgent({
    server,
    agentId: 'restart-agent',
    capacity: { cpuMilli: 2000, memoryMib: 4096 },
    logger: silentLogger,
    maxReconnectBackoffMs: 200,
    onTask: (assignment, signal) => {
      if (assignment.spec?.command !== 'hold') return { exitCode: 0, outputTail: 'done' };
      return new Promise((resolve) => signal.addEventListener('abort', () => resolve(-1)));
    },
  });
  cleanups.push(() => session.close());
  return session;
}

describe('SQLite restart', () => {
  it('restart keeps accepted tasks', async () => {
    const dataDir = newDataDir();
    const address = `127.0.0.1:${await freePort()}`;
    const first = await startOn(address, dataDir);
    const client = createMachinehubClient(address);
    cleanups.push(() => client.close());
    const agent = await startAgent(address);

    await client.tasks.submitTasks({ tasks: [spec('quick', 'true'), spec('hold-1', 'hold'), spec('hold-2', 'hold'), spec('too-big', 'true', 64_000)] });
    await waitFor('quick completed', async () => (await client.tasks.getTask({ id: 'quick' })).task?.state === TaskState.TASK_STATE_COMPLETED);
    for (const id of ['hold-1', 'hold-2']) {
      await waitFor(`${id} running`, async () => (await client.tasks.getTask({ id })).task?.state === TaskState.TASK_STATE_RUNNING);
    }
    const before = await client.tasks.listTasks({ state: TaskState.TASK_STATE_UNSPECIFIED, pageSize: 0, pageToken: '' });

    await first.close();
    await waitFor('agent disconnected', () => !agent.isConnected);
    const second = await startOn(address, dataDir);

    // Restored before the agent is back: placed tasks keep their state and attempt.
    const restored = await client.tasks.listTasks({ state: TaskState.TASK_STATE_UNSPECIFIED, pageSize: 0, pageToken: '' });
    expect(restored.tasks.map((task) => [task.id, TaskState[task.state], task.attempt])).toEqual([
      ['quick', 'TASK_STATE_COMPLETED', 1],
      ['hold-1', 'TASK_STATE_RUNNING', 1],
      ['hold-2', 'TASK_STATE_RUNNING', 1],
      ['too-big', 'TASK_STATE_QUEUED', 0],
    ]);
    expect(restored.tasks).toEqual(before.tasks.map((task) => ({ ...task, reason: restored.tasks.find((t) => t.id === task.id)?.reason })));
    expect(restored.tasks[0]?.spec?.stdin).toEqual(Buffer.from([7, 0, 255]));

    // The agent reconnects and the running attempts are adopted, not placed again.
    await waitFor('agent reconnected', () => agent.isConnected);
    const machine = await waitFor('machine ready', async () => {
      const { machine: current } = await client.machines.getMachine({ id: 'restart-agent' });
      return current?.status === MachineStatus.MACHINE_STATUS_READY ? current : undefined;
    });
    expect(machine.allocated?.cpuMilli).toBe(1000);
    expect(machine.taskCount).toBe(2);
    expect(agent.running.map((attempt) => `${attempt.taskId}:${attempt.attempt}`).sort()).toEqual(['hold-1:1', 'hold-2:1']);

    // A submission retried after the restart returns the stored task.
    const retried = await client.tasks.submitTasks({ tasks: [spec('hold-1', 'hold')] });
    expect(retried.tasks.map((task) => [task.id, task.attempt])).toEqual([['hold-1', 1]]);
    await second.close();
  });

  it('absent agent loses tasks after timeout', async () => {
    const dataDir = newDataDir();
    const address = `127.0.0.1:${await freePort()}`;
    const first = await startOn(address, dataDir, 1_500);
    const client = createMachinehubClient(address);
    cleanups.push(() => client.close());
    const agent = await startAgent(address);
    await client.tasks.submitTasks({ tasks: [spec('orphan', 'hold')] });
    await waitFor('orphan running', async () => (await client.tasks.getTask({ id: 'orphan' })).task?.state === TaskState.TASK_STATE_RUNNING);
    await agent.close();
    await first.close();

    const restartedAt = Date.now();
    await startOn(address, dataDir, 1_500);
    const { machine } = await client.machines.getMachine({ id: 'restart-agent' });
    expect(MachineStatus[machine!.status]).toBe('MACHINE_STATUS_DISCONNECTED');
    expect((await client.tasks.getTask({ id: 'orphan' })).task?.state).toBe(TaskState.TASK_STATE_RUNNING);

    // After the lost timeout the attempt ends and the task waits for a machine again.
    const task = await waitFor('orphan requeued', async () => {
      const { task: current } = await client.tasks.getTask({ id: 'orphan' });
      return current?.state === TaskState.TASK_STATE_QUEUED ? current : undefined;
    });
    expect(Date.now() - restartedAt).toBeGreaterThanOrEqual(1_500);
    expect(task.attempts.map((attempt) => TaskState[attempt.state])).toEqual(['TASK_STATE_FAILED']);
    expect(task.attempts[0]?.error).toMatch(/machine restart-agent lost/);
    const lost = await client.machines.getMachine({ id: 'restart-agent' });
    expect(MachineStatus[lost.machine!.status]).toBe('MACHINE_STATUS_LOST');
    expect(lost.machine?.allocated?.cpuMilli).toBe(0);
  });

  it('restart after close keeps machines', async () => {
    const dataDir = newDataDir();
    const address = `127.0.0.1:${await freePort()}`;
    const first = await startOn(address, dataDir);
    const client = createMachinehubClient(address);
    cleanups.push(() => client.close());
    await client.machines.registerMachine({ id: 'declared-1', capacity: { cpuMilli: 8000, memoryMib: 1024, gpus: [] }, labels: { zone: 'b' } });
    await client.machines.registerMachine({ id: 'declared-2', capacity: { cpuMilli: 4000, memoryMib: 512, gpus: [] }, labels: {} });
    await client.machines.removeMachine({ id: 'declared-2' });
    await first.close();

    await startOn(address, dataDir);
    const { machines } = await client.machines.listMachines({ statuses: [], pageSize: 0, pageToken: '' });
    expect(machines.map((machine) => [machine.id, machine.labels, machine.capacity?.cpuMilli, MachineStatus[machine.status]])).toEqual([
      ['declared-1', { zone: 'b' }, 8000, 'MACHINE_STATUS_OFFLINE'],
    ]);
  });
});
