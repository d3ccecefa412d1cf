import { describe, expect, it } from 'vitest';
import { MachineStatus } from '../../gen/machinehub/machine/v1/machine.js';
import { TaskState, type TaskSpec } from '../../gen/machinehub/task/v1/task.js';
import type { MachinehubClient } from '../../client/index.js';
import { inState, spawnAgent, startTestServer, taskSpec, waitForMachine, waitForTask } from '../support/cluster.js';

const MACHINE = ['--cpus', '2', '--memory-mib', '4096', '--gpus', '2', '--gpu-memory-mib', '16384'];
/** Holds the whole machine: both CPUs, all memory and both GPUs. */
const WHOLE = { cpuMilli: 2000, memoryMib: 4096, gpuCount: 2 };

async function expectEmpty(client: MachinehubClient, id: string): Promise<void> {
  const { machine } = await client.machines.getMachine({ id });
  expect(machine?.allocated?.cpuMilli).toBe(0);
  expect(machine?.allocated?.memoryMib).toBe(0);
  expect(machine?.allocated?.gpus.map((gpu) => gpu.milli)).toEqual([0, 0]);
  expect(machine?.taskCount).toBe(0);
}

/**
 * Runs `holder` on a one-machine fleet with `waiter` queued behind it, ends
 * the holder through `end`, and checks that the waiter then runs without a
 * new submission.
 */
async function releaseCase(holder: TaskSpec, end: (client: MachinehubClient) => Promise<void>, finalState: TaskState) {
  const { server, client } = await startTestServer();
  spawnAgent(server.address, 'solo', MACHINE);
  await waitForMachine(client, 'solo');
  await client.tasks.submitTasks({ tasks: [holder] });
  await waitForTask(client, holder.id, inState(TaskState.TASK_STATE_RUNNING), 'running');
  await client.tasks.submitTasks({ tasks: [taskSpec({ id: 'waiter', command: 'sleep', args: ['30'], resources: WHOLE })] });
  expect((await client.tasks.getTask({ id: 'waiter' })).task?.state).toBe(TaskState.TASK_STATE_QUEUED);

  await end(client);
  const ended = await waitForTask(client, holder.id, inState(finalState), TaskState[finalState]);
  expect(ended.attempts).toHaveLength(1);
  const waiter = await waitForTask(client, 'waiter', inState(TaskState.TASK_STATE_RUNNING), 'running');
  expect(waiter.machineId).toBe('solo');
  expect(waiter.gpuIndices.sort()).toEqual([0, 1]);
}

const once = { maxAttempts: 1, initialBackoff: undefined, maxBackoff: undefined };

describe('resources come back', () => {
  it('after a task completes', async () => {
    await releaseCase(
      taskSpec({ id: 'holder', command: 'sleep', args: ['1'], resources: WHOLE }),
      async () => {},
      TaskState.TASK_STATE_COMPLETED,
    );
  });

  it('after a task fails', async () => {
    await releaseCase(
      taskSpec({ id: 'holder', command: 'sh', args: ['-c', 'sleep 1; exit 3'], resources: WHOLE, retry: once }),
      async () => {},
      TaskState.TASK_STATE_FAILED,
    );
  });

  it('after a task is cancelled', async () => {
    await releaseCase(
      taskSpec({ id: 'holder', command: 'sh', args: ['-c', 'trap "" TERM; sleep 60'], resources: WHOLE }),
      async (client) => void (await client.tasks.cancelTask({ id: 'holder' })),
      TaskState.TASK_STATE_CANCELLED,
    );
  });

  it('after a task times out', async () => {
    await releaseCase(
      // The command ignores SIGTERM, so only the SIGKILL after the grace period ends it.
      taskSpec({
        id: 'holder',
        command: 'sh',
        args: ['-c', 'trap "" TERM; sleep 60'],
        resources: WHOLE,
        retry: once,
        timeout: { seconds: 1, nanos: 0 },
      }),
      async () => {},
      TaskState.TASK_STATE_FAILED,
    );
  });

  it('after its machine is lost', async () => {
    const { server, client } = await startTestServer();
    const first = spawnAgent(server.address, 'solo', MACHINE);
    await waitForMachine(client, 'solo');
    await client.tasks.submitTasks({
      tasks: [taskSpec({ id: 'holder', command: 'sleep', args: ['60'], resources: WHOLE, retry: once })],
    });
    await waitForTask(client, 'holder', inState(TaskState.TASK_STATE_RUNNING), 'running');
    await client.tasks.submitTasks({ tasks: [taskSpec({ id: 'waiter', command: 'sleep', args: ['30'], resources: WHOLE })] });

    first.child.kill('SIGKILL');
    await first.exited;
    const lost = await waitForTask(client, 'holder', inState(TaskState.TASK_STATE_FAILED), 'failed');
    expect(lost.error).toContain('lost');
    await waitForMachine(client, 'solo', MachineStatus.MACHINE_STATUS_LOST);
    await expectEmpty(client, 'solo');
    expect((await client.tasks.getTask({ id: 'waiter' })).task?.state).toBe(TaskState.TASK_STATE_QUEUED);

    spawnAgent(server.address, 'solo', MACHINE);
    const waiter = await waitForTask(client, 'waiter', inState(TaskState.TASK_STATE_RUNNING), 'running');
    expect(waiter.machineId).toBe('solo');
  });

  it('leaves nothing allocated at the end', async () => {
    const { server, client } = await startTestServer();
    spawnAgent(server.address, 'solo', MACHINE);
    await waitForMachine(client, 'solo');
    await client.tasks.submitTasks({
      tasks: [
        taskSpec({ id: 'ok', command: 'true', resources: { cpuMilli: 700, memoryMib: 1000, gpuMilli: 300, gpuMemoryMib: 1000 } }),
        taskSpec({ id: 'bad', command: 'false', retry: once, resources: { cpuMilli: 300, memoryMib: 1000, gpuMilli: 700 } }),
        taskSpec({ id: 'cut', command: 'sleep', args: ['60'], resources: { cpuMilli: 1000, gpuCount: 1 } }),
      ],
    });
    await waitForTask(client, 'cut', inState(TaskState.TASK_STATE_RUNNING), 'running');
    await client.tasks.cancelTask({ id: 'cut' });
    for (const id of ['ok', 'bad', 'cut']) {
      await waitForTask(client, id, (task) => task.state >= TaskState.TASK_STATE_COMPLETED, 'final');
    }
    await expectEmpty(client, 'solo');
  });
});
