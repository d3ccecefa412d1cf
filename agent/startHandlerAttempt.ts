import type { AssignTask } from '../gen/machinehub/agent/v1/agent.js';
import type { AttemptCallbacks, AttemptExecution, AttemptOutcome, TaskHandler } from './AttemptExecution.js';

/** Runs an assignment through an in-process TaskHandler. */
export function startHandlerAttempt(handler: TaskHandler, assignment: AssignTask, callbacks: AttemptCallbacks): AttemptExecution {
  const controller = new AbortController();
  let finished = false;
  let forceTimer: NodeJS.Timeout | undefined;

  const finish = (outcome: AttemptOutcome): void => {
    if (finished) {
      return;
    }
    finished = true;
    clearTimeout(forceTimer);
    callbacks.onFinished(outcome);
  };

  callbacks.onStarted();

  // The handler is called synchronously so that a cancel arriving right
  // after the assignment reaches it as an abort event.
  let result: ReturnType<TaskHandler>;
  try {
    result = handler(assignment, controller.signal);
  } catch (error) {
    result = Promise.reject(error);
  }

  void Promise.resolve(result)
    .then(
      (result) => {
        const exitCode = typeof result === 'number' ? result : result.exitCode;
        const outputTail = typeof result === 'number' ? '' : (result.outputTail ?? '');
        finish({ exitCode, error: exitCode === 0 ? '' : `exited with status ${exitCode}`, outputTail });
      },
      (error: unknown) => {
        finish({ exitCode: -1, error: error instanceof Error ? error.message : String(error), outputTail: '' });
      },
    );

  return {
    stop(graceMs) {
      if (finished || controller.signal.aborted) {
        return;
      }
      controller.abort(new Error('attempt stopped'));
      forceTimer = setTimeout(() => {
        finish({ exitCode: -1, error: `task handler did not return within ${graceMs}ms of being stopped`, outputTail: '' });
      }, Math.max(0, graceMs));
    },
    kill() {
      controller.abort(new Error('attempt killed'));
      finish({ exitCode: -1, error: 'task handler was abandoned', outputTail: '' });
    },
  };
}
