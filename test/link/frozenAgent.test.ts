import { describe, expect, it } from 'vitest';
import { MachineStatus } from '../../gen/machinehub/machine/v1/machine.js';
import { TaskState } from '../../gen/machinehub/task/v1/task.js';
import { inState, spawnAgent, startTestServer, taskSpec, waitForMachine, waitForTask } from '../support/cluster.js';

const BOX = ['--cpus', '2', '--memory-mib', '1024'];

describe('frozen agent', () => {
  it('keepalive closes a frozen stream', async () => {
    // A lease far longer than the test: only keepalive can notice the freeze.
    const { server, client } = await startTestServer({
      heartbeatIntervalMs: 1_000,
      leaseTimeoutMs: 120_000,
      lostTimeoutMs: 120_000,
      keepaliveTimeMs: 500,
      keepaliveTimeoutMs: 500,
    });
    const agent = spawnAgent(server.address, 'ice', BOX);
    await waitForMachine(client, 'ice');
    agent.child.kill('SIGSTOP');
    const machine = await waitForMachine(client, 'ice', MachineStatus.MACHINE_STATUS_DISCONNECTED, 15_000);
    expect(machine.statusReason).toContain('stream');
    agent.child.kill('SIGCONT');
    await waitForMachine(client, 'ice', MachineStatus.MACHINE_STATUS_READY, 40_000);
  });

  it('lease marks a frozen agent disconnected', async () => {
    const { server, client } = await startTestServer({ keepaliveTimeMs: 60_000, keepaliveTimeoutMs: 60_000 });
    const agent = spawnAgent(server.address, 'ice', BOX);
    await waitForMachine(client, 'ice');
    agent.child.kill('SIGSTOP');
    const machine = await waitForMachine(client, 'ice', MachineStatus.MACHINE_STATUS_DISCONNECTED, 5_000);
    expect(machine.statusReason).toContain('no heartbeat');
    await waitForMachine(client, 'ice', MachineStatus.MACHINE_STATUS_LOST, 5_000);
    agent.child.kill('SIGCONT');
    await waitForMachine(client, 'ice', MachineStatus.MACHINE_STATUS_READY, 40_000);
  });
});

describe('operator drain', () => {
  it('drain lets running tasks finish', async () => {
    const { server, client } = await startTestServer();
    const agent = spawnAgent(server.address, 'busy', BOX);
    await waitForMachine(client, 'busy');
    await client.tasks.submitTasks({ tasks: [taskSpec({ id: 'finishing', command: 'sleep', args: ['2'] })] });
    await waitForTask(client, 'finishing', inState(TaskState.TASK_STATE_RUNNING), 'running');

    const drained = await client.machines.drainMachine({ id: 'busy', deadlineSeconds: 30 });
    expect(drained.machine?.status).toBe(MachineStatus.MACHINE_STATUS_DRAINING);
    await client.tasks.submitTasks({ tasks: [taskSpec({ id: 'blocked' })] });

    await waitForTask(client, 'finishing', inState(TaskState.TASK_STATE_COMPLETED), 'completed');
    expect((await agent.exited).code).toBe(0);
    await waitForMachine(client, 'busy', MachineStatus.MACHINE_STATUS_OFFLINE);
    expect((await client.tasks.getTask({ id: 'blocked' })).task?.state).toBe(TaskState.TASK_STATE_QUEUED);
  });
});
