import { describe, expect, it } from 'vitest';
import { TaskState } from '../../gen/machinehub/task/v1/task.js';
import { inState, spawnAgent, startTestServer, taskSpec, waitForMachine, waitForTask } from '../support/cluster.js';

const REPORT = 'echo "devices=[$CUDA_VISIBLE_DEVICES]"';

describe('design sketch placements', () => {
  it('places each task on the machine that fits it', async () => {
    const { server, client } = await startTestServer();
    spawnAgent(server.address, 'cpu_1', ['--cpus', '16', '--memory-mib', '65536']);
    spawnAgent(server.address, 'gpu_1', ['--cpus', '32', '--memory-mib', '131072', '--gpus', '4', '--gpu-memory-mib', '12288']);
    await waitForMachine(client, 'cpu_1');
    await waitForMachine(client, 'gpu_1');

    await client.tasks.submitTasks({
      tasks: [
        taskSpec({ id: 'task_1', priority: 1, command: 'sh', args: ['-c', REPORT], resources: { cpuMilli: 4000, memoryMib: 8192 } }),
        taskSpec({
          id: 'task_2',
          priority: 2,
          command: 'sh',
          args: ['-c', REPORT],
          resources: { cpuMilli: 8000, memoryMib: 16384, gpuCount: 1, gpuMemoryMib: 12288 },
        }),
      ],
    });
    const task1 = await waitForTask(client, 'task_1', inState(TaskState.TASK_STATE_COMPLETED), 'completed');
    const task2 = await waitForTask(client, 'task_2', inState(TaskState.TASK_STATE_COMPLETED), 'completed');

    expect(task1.machineId).toBe('cpu_1');
    expect(task1.outputTail.trim()).toBe('devices=[]');
    expect(task2.machineId).toBe('gpu_1');
    expect(task2.gpuIndices).toHaveLength(1);
    expect(task2.outputTail.trim()).toBe(`devices=[${task2.gpuIndices[0]}]`);
    expect(task2.exitCode).toBe(0);
  });

  it('returns resources after tasks complete', async () => {
    const { server, client } = await startTestServer();
    spawnAgent(server.address, 'gpu_1', ['--cpus', '32', '--memory-mib', '131072', '--gpus', '4', '--gpu-memory-mib', '12288']);
    await waitForMachine(client, 'gpu_1');
    await client.tasks.submitTasks({
      tasks: [taskSpec({ id: 'gpu-task', resources: { cpuMilli: 8000, memoryMib: 16384, gpuCount: 2, gpuMemoryMib: 12288 } })],
    });
    await waitForTask(client, 'gpu-task', inState(TaskState.TASK_STATE_COMPLETED), 'completed');

    const { machine } = await client.machines.getMachine({ id: 'gpu_1' });
    expect(machine?.allocated?.cpuMilli).toBe(0);
    expect(machine?.allocated?.memoryMib).toBe(0);
    expect(machine?.allocated?.gpus.map((gpu) => gpu.milli)).toEqual([0, 0, 0, 0]);
    expect(machine?.taskCount).toBe(0);
  });
});
