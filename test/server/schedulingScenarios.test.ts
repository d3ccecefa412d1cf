import { describe, expect, it } from 'vitest';
import { TaskState, type Task } from '../../gen/machinehub/task/v1/task.js';
import type { MachinehubClient } from '../../client/index.js';
import { inState, spawnAgent, startTestServer, taskSpec, waitFor, waitForMachine, waitForTask } from '../support/cluster.js';

const placed = (task: Task) => task.state === TaskState.TASK_STATE_ASSIGNED || task.state === TaskState.TASK_STATE_RUNNING;

async function stateOf(client: MachinehubClient, id: string): Promise<Task> {
  const { task } = await client.tasks.getTask({ id });
  if (!task) throw new Error(`task ${id} missing from the response`);
  return task;
}

describe('scheduling through the server', () => {
  it('small tasks pass a blocked large one', async () => {
    const { server, client } = await startTestServer();
    spawnAgent(server.address, 'eight', ['--cpus', '8', '--memory-mib', '16384']);
    await waitForMachine(client, 'eight');

    await client.tasks.submitTasks({ tasks: [taskSpec({ id: 'H', priority: 10, resources: { cpuMilli: 16_000 } })] });
    await client.tasks.submitTasks({
      tasks: ['L1', 'L2', 'L3', 'L4'].map((id) => taskSpec({ id, priority: 1, command: 'sleep', args: ['30'] })),
    });

    for (const id of ['L1', 'L2', 'L3', 'L4']) {
      await waitForTask(client, id, inState(TaskState.TASK_STATE_RUNNING), 'running');
    }
    const high = await stateOf(client, 'H');
    expect(high.state).toBe(TaskState.TASK_STATE_QUEUED);
    expect(high.reason).toContain('needs 16000m CPU, largest machine has 8000m');
  });

  it('multi-GPU tasks get disjoint devices', async () => {
    const { server, client } = await startTestServer();
    spawnAgent(server.address, 'quad', ['--cpus', '16', '--memory-mib', '65536', '--gpus', '4', '--gpu-memory-mib', '24576']);
    await waitForMachine(client, 'quad');
    const report = (seconds: number) => ['-c', `echo "$CUDA_VISIBLE_DEVICES"; sleep ${seconds}`];

    await client.tasks.submitTasks({
      tasks: [
        taskSpec({ id: 'pair-a', command: 'sh', args: report(3), resources: { gpuCount: 2 } }),
        taskSpec({ id: 'pair-b', command: 'sh', args: report(6), resources: { gpuCount: 2 } }),
      ],
    });
    await client.tasks.submitTasks({ tasks: [taskSpec({ id: 'single', command: 'sh', args: report(0), resources: { gpuCount: 1 } })] });

    const a = await waitForTask(client, 'pair-a', inState(TaskState.TASK_STATE_RUNNING), 'running');
    const b = await waitForTask(client, 'pair-b', inState(TaskState.TASK_STATE_RUNNING), 'running');
    const sets = [a.gpuIndices, b.gpuIndices].map((set) => [...set].sort()).sort((x, y) => (x[0] ?? 0) - (y[0] ?? 0));
    expect(sets).toEqual([
      [0, 1],
      [2, 3],
    ]);
    expect((await stateOf(client, 'single')).state).toBe(TaskState.TASK_STATE_QUEUED);

    const doneA = await waitForTask(client, 'pair-a', inState(TaskState.TASK_STATE_COMPLETED), 'completed');
    expect(doneA.outputTail.trim()).toBe(a.gpuIndices.join(','));
    const single = await waitForTask(client, 'single', inState(TaskState.TASK_STATE_COMPLETED), 'completed');
    expect(a.gpuIndices).toContain(single.gpuIndices[0]);
    expect((await stateOf(client, 'pair-b')).state).toBe(TaskState.TASK_STATE_RUNNING);
  });

  it('exact CPU sums all place', async () => {
    const { server, client } = await startTestServer();
    const ids = Array.from({ length: 7 }, (_, i) => `ten-${i}`);
    for (const id of ids) spawnAgent(server.address, id, ['--cpus', '9.5', '--memory-mib', '16384']);
    spawnAgent(server.address, 'one', ['--cpus', '1', '--memory-mib', '4096', '--label', 'size=one']);
    for (const id of [...ids, 'one']) await waitForMachine(client, id);

    const whole = Array.from({ length: 63 }, (_, i) =>
      taskSpec({ id: `whole-${i}`, command: 'sleep', args: ['30'], constraints: [{ key: 'size', operator: 5, values: [] }] }),
    );
    const tenths = Array.from({ length: 10 }, (_, i) =>
      taskSpec({
        id: `tenth-${i}`,
        command: 'sleep',
        args: ['30'],
        resources: { cpuMilli: 100 },
        constraints: [{ key: 'size', operator: 1, values: ['one'] }],
      }),
    );
    await client.tasks.submitTasks({ tasks: [...whole, ...tenths] });

    await waitFor('all 73 tasks placed', async () => {
      const tasks = await Promise.all([...whole, ...tenths].map((spec) => stateOf(client, spec.id)));
      return tasks.every(placed);
    }, 30_000);
    for (const id of ids) {
      const { machine } = await client.machines.getMachine({ id });
      expect(machine?.allocated?.cpuMilli).toBe(9000);
      expect(machine?.taskCount).toBe(9);
    }
    const { machine: one } = await client.machines.getMachine({ id: 'one' });
    expect(one?.allocated?.cpuMilli).toBe(1000);
  });
});
