import { pino } from 'pino';
import { describe, expect, it } from 'vitest';

import { CancelReason, type AssignTask, type TaskStatus } from '../../gen/machinehub/agent/v1/agent.js';
import { TaskSpec, TaskState } from '../../gen/machinehub/task/v1/task.js';
import { TaskSupervisor } from '../../agent/TaskSupervisor.js';

const silentLogger = pino({ level: 'silent' });

function assignment(taskId: string, spec: Partial<TaskSpec>, gpuIndices: number[] = []): AssignTask {
  return {
    taskId,
    attempt: 1,
    spec: { ...TaskSpec.fromJSON({}), ...spec },
    gpuIndices,
    assignedTime: new Date(),
    killGracePeriod: undefined,
  };
}

/** Creates a supervisor that collects its reports, with a wait for an attempt's final state. */
function createSupervisor(killGraceMs = 300) {
  const statuses: TaskStatus[] = [];
  const waiters: Array<() => void> = [];
  const supervisor = new TaskSupervisor({
    report: (status) => {
      statuses.push(status);
      for (const waiter of waiters.splice(0)) {
        waiter();
      }
    },
    logger: silentLogger,
    killGraceMs,
  });

  const isFinal = (status: TaskStatus) => status.state !== TaskState.TASK_STATE_RUNNING;
  async function finalStatus(taskId: string): Promise<TaskStatus> {
    for (;;) {
      const final = statuses.find((status) => status.taskId === taskId && isFinal(status));
      if (final !== undefined) {
        return final;
      }
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  }
  const statesOf = (taskId: string) => statuses.filter((status) => status.taskId === taskId).map((status) => TaskState[status.state]);

  return { supervisor, statuses, finalStatus, statesOf };
}

describe('TaskSupervisor', () => {
  it('reports running then completed', async () => {
    const { supervisor, finalStatus, statesOf } = createSupervisor();
    supervisor.assign(assignment('t1', { command: 'true' }));
    expect(supervisor.running).toEqual([{ taskId: 't1', attempt: 1 }]);

    const final = await finalStatus('t1');

    expect(final.exitCode).toBe(0);
    expect(final.error).toBe('');
    expect(statesOf('t1')).toEqual(['TASK_STATE_RUNNING', 'TASK_STATE_COMPLETED']);
    expect(supervisor.running).toEqual([]);
  });

  it('reports non-zero exit as failed', async () => {
    const { supervisor, finalStatus } = createSupervisor();
    supervisor.assign(assignment('t1', { command: 'sh', args: ['-c', 'echo bad; exit 7'] }));

    const final = await finalStatus('t1');

    expect(TaskState[final.state]).toBe('TASK_STATE_FAILED');
    expect(final.exitCode).toBe(7);
    expect(final.error).toBe('exited with status 7');
    expect(final.outputTail).toBe('bad\n');
  });

  it('reports spawn errors without running', async () => {
    const { supervisor, finalStatus, statesOf } = createSupervisor();
    supervisor.assign(assignment('t1', { command: 'machinehub-no-such-command' }));

    const final = await finalStatus('t1');

    expect(final.exitCode).toBe(-1);
    expect(final.error).toMatch(/spawn .*ENOENT/);
    expect(statesOf('t1')).toEqual(['TASK_STATE_FAILED']);
  });

  it('sets task environment variables', async () => {
    const { supervisor, finalStatus } = createSupervisor();
    const script = 'echo "$CUDA_VISIBLE_DEVICES|$MACHINEHUB_TASK_ID|$MACHINEHUB_ATTEMPT|$EXTRA"';
    supervisor.assign(assignment('gpu-task', { command: 'sh', args: ['-c', script], env: { EXTRA: 'x', CUDA_VISIBLE_DEVICES: 'ignored' } }, [3, 1]));
    supervisor.assign(assignment('cpu-task', { command: 'sh', args: ['-c', 'echo "[${CUDA_VISIBLE_DEVICES-unset}]"'] }));

    expect((await finalStatus('gpu-task')).outputTail).toBe('3,1|gpu-task|1|x\n');
    expect((await finalStatus('cpu-task')).outputTail).toBe('[]\n');
  });

  it('fails a task after its timeout', async () => {
    const { supervisor, finalStatus } = createSupervisor(200);
    const startTime = Date.now();
    supervisor.assign(assignment('t1', { command: 'sh', args: ['-c', 'trap "" TERM; sleep 60'], timeout: { seconds: 0, nanos: 300_000_000 } }));

    const final = await finalStatus('t1');

    expect(TaskState[final.state]).toBe('TASK_STATE_FAILED');
    expect(final.exitCode).toBe(-1);
    expect(final.error).toBe('timed out after 0.3s');
    expect(Date.now() - startTime).toBeLessThan(5_000);
  });

  it('cancels a task ignoring SIGTERM', async () => {
    const { supervisor, finalStatus, statesOf } = createSupervisor();
    supervisor.assign(assignment('t1', { command: 'sh', args: ['-c', 'trap "" TERM; sleep 60'] }));
    await new Promise((resolve) => setTimeout(resolve, 100));

    supervisor.cancel({ taskId: 't1', attempt: 1, gracePeriod: { seconds: 0, nanos: 200_000_000 }, reason: CancelReason.CANCEL_REASON_CLIENT });
    const final = await finalStatus('t1');

    expect(TaskState[final.state]).toBe('TASK_STATE_CANCELLED');
    expect(final.exitCode).toBe(-1);
    expect(statesOf('t1')).toEqual(['TASK_STATE_RUNNING', 'TASK_STATE_CANCELLED']);
  });

  it('cancels an unknown attempt at once', () => {
    const { supervisor, statuses } = createSupervisor();

    supervisor.cancel({ taskId: 'gone', attempt: 4, gracePeriod: undefined, reason: CancelReason.CANCEL_REASON_STALE_ATTEMPT });

    expect(statuses).toHaveLength(1);
    expect(statuses[0]).toMatchObject({ taskId: 'gone', attempt: 4, state: TaskState.TASK_STATE_CANCELLED, exitCode: -1 });
  });

  it('rejects assignments while draining', () => {
    const { supervisor, statuses } = createSupervisor();
    supervisor.startDraining();

    supervisor.assign(assignment('t1', { command: 'true' }));

    expect(statuses).toEqual([{ taskId: 't1', attempt: 1, state: TaskState.TASK_STATE_FAILED, exitCode: -1, error: 'agent draining', outputTail: '' }]);
    expect(supervisor.running).toEqual([]);
  });

  it('runs a handler instead of a process', async () => {
    const { supervisor, finalStatus } = createSupervisor();
    supervisor.handler = (task) => ({ exitCode: task.taskId === 'ok' ? 0 : 2, outputTail: `ran ${task.spec?.command}` });

    supervisor.assign(assignment('ok', { command: 'machinehub-no-such-command' }));
    supervisor.assign(assignment('bad', { command: 'whatever' }));

    expect(await finalStatus('ok')).toMatchObject({ state: TaskState.TASK_STATE_COMPLETED, exitCode: 0, outputTail: 'ran machinehub-no-such-command' });
    expect(await finalStatus('bad')).toMatchObject({ state: TaskState.TASK_STATE_FAILED, exitCode: 2 });
  });

  it('aborts a handler on cancel', async () => {
    const { supervisor, finalStatus } = createSupervisor();
    let aborted = false;
    supervisor.handler = (_task, signal) =>
      new Promise((_resolve, reject) => {
        signal.addEventListener('abort', () => {
          aborted = true;
          reject(signal.reason as Error);
        });
      });

    supervisor.assign(assignment('t1', { command: 'x' }));
    supervisor.cancel({ taskId: 't1', attempt: 1, gracePeriod: undefined, reason: CancelReason.CANCEL_REASON_CLIENT });

    expect(await finalStatus('t1')).toMatchObject({ state: TaskState.TASK_STATE_CANCELLED, exitCode: -1 });
    expect(aborted).toBe(true);
  });

  it('fails a throwing handler', async () => {
    const { supervisor, finalStatus } = createSupervisor();
    supervisor.handler = () => {
      throw new Error('model weights missing');
    };

    supervisor.assign(assignment('t1', { command: 'x' }));

    expect(await finalStatus('t1')).toMatchObject({ state: TaskState.TASK_STATE_FAILED, exitCode: -1, error: 'model weights missing' });
  });

  it('stops tasks at the drain deadline', async () => {
    const { supervisor, finalStatus } = createSupervisor(200);
    supervisor.assign(assignment('t1', { command: 'sleep', args: ['60'] }));
    supervisor.startDraining();

    expect(await supervisor.waitIdle(200)).toBe(false);
    supervisor.stopAllForDrain(200);

    expect(await finalStatus('t1')).toMatchObject({ state: TaskState.TASK_STATE_FAILED, exitCode: -1, error: "stopped at the agent's drain deadline after 0.2s" });
    expect(await supervisor.waitIdle(1_000)).toBe(true);
  });
});
