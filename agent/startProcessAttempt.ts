import type { AssignTask } from '../gen/machinehub/agent/v1/agent.js';
import type { AttemptCallbacks, AttemptExecution } from './AttemptExecution.js';
import { TaskProcess } from './TaskProcess.js';

/**
 * Builds a task's environment: the agent's own, then spec.env, then the
 * variables the agent always sets, which spec.env cannot override.
 */
export function buildTaskEnv(assignment: AssignTask, agentEnv: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return {
    ...agentEnv,
    ...assignment.spec?.env,
    // Empty rather than unset when the task has no GPU, because CUDA treats
    // an unset variable as "all devices".
    CUDA_VISIBLE_DEVICES: assignment.gpuIndices.join(','),
    MACHINEHUB_TASK_ID: assignment.taskId,
    MACHINEHUB_ATTEMPT: String(assignment.attempt),
  };
}

/** Starts an assignment's command as a TaskProcess. */
export function startProcessAttempt(assignment: AssignTask, cwd: string | undefined, callbacks: AttemptCallbacks): AttemptExecution {
  const spec = assignment.spec;

  const taskProcess = new TaskProcess({
    command: spec?.command ?? '',
    args: spec?.args ?? [],
    env: buildTaskEnv(assignment),
    ...(cwd === undefined ? {} : { cwd }),
    ...(spec?.stdin === undefined ? {} : { stdin: spec.stdin }),
    onSpawn: () => callbacks.onStarted(),
  });

  void taskProcess.exited.then((exit) => {
    let error = '';
    if (exit.spawnError !== null) {
      error = exit.spawnError;
    } else if (exit.signal !== null) {
      error = `killed by ${exit.signal}`;
    } else if (exit.exitCode !== 0) {
      error = `exited with status ${exit.exitCode}`;
    }
    callbacks.onFinished({ exitCode: exit.exitCode, error, outputTail: exit.outputTail });
  });

  return {
    stop: (graceMs) => taskProcess.stop(graceMs),
    kill: () => taskProcess.kill(),
  };
}
