import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createChannel, createClient } from 'nice-grpc';
import { describe, expect, it } from 'vitest';
import { AgentServiceDefinition, type ConnectRequest } from '../../gen/machinehub/agent/v1/agent.js';
import { MachineStatus } from '../../gen/machinehub/machine/v1/machine.js';
import { TaskState, type Task } from '../../gen/machinehub/task/v1/task.js';
import { RequestQueue } from '../../agent/RequestQueue.js';
import {
  inState,
  onCleanup,
  spawnAgent,
  startTestServer,
  taskSpec,
  waitFor,
  waitForMachine,
  waitForTask,
  type AgentProcess,
} from '../support/cluster.js';

const BOX = ['--cpus', '4', '--memory-mib', '4096'];
const quickRetry = (maxAttempts: number) => ({ maxAttempts, initialBackoff: { seconds: 0, nanos: 100_000_000 }, maxBackoff: undefined });

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z');
  } catch {
    return false;
  }
}

/** Runs T1 and T2 on agent "a" with agent "b" idle beside it, both under the caller's control. */
async function twoTasksOnA(retries: number) {
  const test = await startTestServer();
  const a = spawnAgent(test.server.address, 'a', BOX);
  await waitForMachine(test.client, 'a');
  await test.client.tasks.submitTasks({
    tasks: ['T1', 'T2'].map((id) => taskSpec({ id, command: 'sleep', args: ['20'], retry: quickRetry(retries) })),
  });
  for (const id of ['T1', 'T2']) {
    const task = await waitForTask(test.client, id, inState(TaskState.TASK_STATE_RUNNING), 'running');
    expect(task.machineId).toBe('a');
  }
  return { ...test, a };
}

async function expectReleased(test: Awaited<ReturnType<typeof twoTasksOnA>>) {
  await waitForMachine(test.client, 'a', MachineStatus.MACHINE_STATUS_LOST, 10_000);
  const { machine } = await test.client.machines.getMachine({ id: 'a' });
  expect(machine?.allocated?.cpuMilli).toBe(0);
  expect(machine?.allocated?.memoryMib).toBe(0);
  expect(machine?.taskCount).toBe(0);
}

describe('abrupt agent loss', () => {
  for (const signal of ['SIGKILL', 'SIGINT'] as const) {
    it(`requeues tasks after ${signal}`, async () => {
      const test = await twoTasksOnA(3);
      spawnAgent(test.server.address, 'b', BOX);
      await waitForMachine(test.client, 'b');
      test.a.child.kill(signal);
      for (const id of ['T1', 'T2']) {
        const task = await waitForTask(test.client, id, (t) => t.attempt === 2 && t.state === TaskState.TASK_STATE_RUNNING, 'attempt 2 running', 10_000);
        expect(task.machineId).toBe('b');
        expect(task.attempts[0]?.machineId).toBe('a');
        expect(task.attempts[0]?.state).toBe(TaskState.TASK_STATE_FAILED);
      }
      await expectReleased(test);
    });
  }

  it('fails tasks with no attempts left', async () => {
    const test = await twoTasksOnA(1);
    test.a.child.kill('SIGKILL');
    for (const id of ['T1', 'T2']) {
      const task = await waitForTask(test.client, id, inState(TaskState.TASK_STATE_FAILED), 'failed', 10_000);
      expect(task.attempts).toHaveLength(1);
      expect(task.error).toContain('machine a lost');
    }
    await expectReleased(test);
  });
});

describe('split brain after reconnect', () => {
  it('stale report loses to the new attempt', async () => {
    const { server, client } = await startTestServer();
    const a = spawnAgent(server.address, 'a', BOX);
    await waitForMachine(client, 'a');
    // Attempt 1 succeeds, attempt 2 fails: the final state shows whose report counted.
    const script = 'sleep 2; [ "$MACHINEHUB_ATTEMPT" = 1 ]';
    await client.tasks.submitTasks({ tasks: [taskSpec({ id: 'T', command: 'sh', args: ['-c', script], retry: quickRetry(2) })] });
    await waitForTask(client, 'T', inState(TaskState.TASK_STATE_RUNNING), 'running');

    a.child.kill('SIGSTOP');
    spawnAgent(server.address, 'b', BOX);
    await waitForTask(client, 'T', (task) => task.attempt === 2, 'placed again');
    // Attempt 1 exits while its agent is frozen; the agent reports it once it thaws.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    a.child.kill('SIGCONT');
    await waitForMachine(client, 'a', MachineStatus.MACHINE_STATUS_READY, 40_000);

    const task = await waitForTask(client, 'T', inState(TaskState.TASK_STATE_FAILED), 'failed by attempt 2');
    expect(task.attempts.map((attempt) => attempt.machineId)).toEqual(['a', 'b']);
    expect(task.attempts[0]?.state).toBe(TaskState.TASK_STATE_FAILED);
    expect(task.attempts[1]?.exitCode).toBe(1);
    expect(task.exitCode).toBe(1);
  });

  it('tells a returning agent to stop its copy', async () => {
    const { server, client } = await startTestServer();
    const a = spawnAgent(server.address, 'a', BOX);
    await waitForMachine(client, 'a');
    const dir = mkdtempSync(join(tmpdir(), 'machinehub-stale-'));
    const script = `if [ "$MACHINEHUB_ATTEMPT" = 1 ]; then echo $$ > ${dir}/pid; exec sleep 30; fi`;
    await client.tasks.submitTasks({ tasks: [taskSpec({ id: 'T', command: 'sh', args: ['-c', script], retry: quickRetry(2) })] });
    await waitFor('attempt 1 pid file', () => existsSync(join(dir, 'pid')));
    const pid = Number(readFileSync(join(dir, 'pid'), 'utf8'));
    onCleanup(() => {
      if (processAlive(pid)) process.kill(pid, 'SIGKILL');
    });

    a.child.kill('SIGSTOP');
    spawnAgent(server.address, 'b', BOX);
    const done = await waitForTask(client, 'T', inState(TaskState.TASK_STATE_COMPLETED), 'completed on b');
    expect(done.machineId).toBe('b');
    expect(processAlive(pid)).toBe(true);

    a.child.kill('SIGCONT');
    await waitFor('stale copy stopped', () => !processAlive(pid), 15_000);
    const after = (await client.tasks.getTask({ id: 'T' })).task as Task;
    expect(after.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(after.attempts).toHaveLength(2);
  });
});

describe('cancel is not success', () => {
  it('treats a cancelled stream as lost', async () => {
    const { server, client } = await startTestServer();
    const channel = createChannel(server.address);
    onCleanup(() => channel.close());
    const agents = createClient(AgentServiceDefinition, channel);
    const requests = new RequestQueue<ConnectRequest>();
    requests.push({
      kind: {
        $case: 'register',
        register: { agentId: 'raw', machineId: 'raw', capacity: { cpuMilli: 2000, memoryMib: 2048, gpus: [] }, labels: {}, running: [], protocolVersion: 1 },
      },
    });
    const abort = new AbortController();
    const assigned = new Promise<void>((resolve) => {
      void (async () => {
        try {
          for await (const response of agents.connect(requests, { signal: abort.signal })) {
            if (response.kind?.$case === 'assignTask') {
              const { taskId, attempt } = response.kind.assignTask;
              requests.push({ kind: { $case: 'taskStatus', taskStatus: { taskId, attempt, state: TaskState.TASK_STATE_RUNNING, exitCode: 0, error: '', outputTail: '' } } });
              resolve();
            }
          }
        } catch {
          // The abort below ends the call.
        }
      })();
    });
    await waitForMachine(client, 'raw');
    await client.tasks.submitTasks({ tasks: [taskSpec({ id: 'T', retry: quickRetry(1) })] });
    await assigned;
    await waitForTask(client, 'T', inState(TaskState.TASK_STATE_RUNNING), 'running');

    abort.abort();
    const task = await waitForTask(client, 'T', inState(TaskState.TASK_STATE_FAILED), 'failed', 10_000);
    expect(task.error).toContain('lost');
    await waitForMachine(client, 'raw', MachineStatus.MACHINE_STATUS_LOST);
  });

  it('drains on SIGTERM and leaves', async () => {
    const { server, client } = await startTestServer();
    const agent: AgentProcess = spawnAgent(server.address, 'd', BOX);
    await waitForMachine(client, 'd');
    await client.tasks.submitTasks({ tasks: [taskSpec({ id: 'running', command: 'sh', args: ['-c', 'sleep 2; echo done'] })] });
    await waitForTask(client, 'running', inState(TaskState.TASK_STATE_RUNNING), 'running');

    agent.child.kill('SIGTERM');
    await waitForMachine(client, 'd', MachineStatus.MACHINE_STATUS_DRAINING, 5_000);
    await client.tasks.submitTasks({ tasks: [taskSpec({ id: 'later' })] });

    const finished = await waitForTask(client, 'running', inState(TaskState.TASK_STATE_COMPLETED), 'completed');
    expect(finished.outputTail.trim()).toBe('done');
    expect(finished.attempts).toHaveLength(1);
    expect((await agent.exited).code).toBe(0);
    await waitForMachine(client, 'd', MachineStatus.MACHINE_STATUS_OFFLINE);
    const later = (await client.tasks.getTask({ id: 'later' })).task as Task;
    expect(later.state).toBe(TaskState.TASK_STATE_QUEUED);
    expect(later.attempts).toHaveLength(0);
  });
});
