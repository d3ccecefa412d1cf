import { TaskState } from '../../gen/machinehub/task/v1/task.js';

/** True for states a task never leaves. */
export function isFinal(state: TaskState): boolean {
  return (
    state === TaskState.TASK_STATE_COMPLETED ||
    state === TaskState.TASK_STATE_FAILED ||
    state === TaskState.TASK_STATE_CANCELLED
  );
}
