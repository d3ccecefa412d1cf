import { TaskState, WatchTasksResponse, type Task } from '../../gen/machinehub/task/v1/task.js';
import type { Command, CommandContext } from '../Command.js';
import { formatTaskState, formatTime } from '../formatNames.js';
import { formatTaskReason, formatTaskStateWithCancel } from '../formatTask.js';

/**
 * Interval between GetTask polls of the watched ids, ms. The stream sends
 * every change, but a task that turns final between the stream opening and
 * the server subscribing it would never appear there. Polling closes that gap.
 */
const POLL_INTERVAL_MS = 5_000;

const FINAL_STATES = new Set([TaskState.TASK_STATE_COMPLETED, TaskState.TASK_STATE_FAILED, TaskState.TASK_STATE_CANCELLED]);

export const tasksWatch: Command = {
  name: 'tasks watch',
  summary: 'print task state changes as they happen',
  help: `Usage: machinehub tasks watch [TASK_ID...]

Prints each task state change, one line per change. With task ids, starts
with their current states and exits when all of them have finished. Without
ids, watches every task until interrupted (Ctrl-C exits with status 0).`,
  options: {},
  async run(context, _values, positionals) {
    const ids = [...new Set(positionals)];
    const controller = new AbortController();
    const stop = (): void => controller.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);

    const printer = createChangePrinter(context, ids);
    try {
      await Promise.all([
        consumeStream(context, ids, printer, controller),
        ids.length === 0 ? Promise.resolve() : pollUntilFinal(context, ids, printer, controller),
      ]);
    } catch (error) {
      if (!controller.signal.aborted || !isAbortError(error)) {
        controller.abort();
        throw error;
      }
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  },
};

interface ChangePrinter {
  /** Prints the task unless its state equals the last one printed for it. */
  print(task: Task, previousState: TaskState): void;
  /** True when every watched id is in a final state; false when watching all tasks. */
  allFinal(): boolean;
}

function createChangePrinter(context: CommandContext, ids: string[]): ChangePrinter {
  const lastStates = new Map<string, TaskState>();
  return {
    print(task, reportedPreviousState) {
      const lastState = lastStates.get(task.id);
      if (lastState === task.state) {
        return;
      }
      lastStates.set(task.id, task.state);
      // A poll reports no previous state, so the last printed state is used.
      const previousState =
        reportedPreviousState === TaskState.TASK_STATE_UNSPECIFIED ? (lastState ?? reportedPreviousState) : reportedPreviousState;
      if (context.json) {
        context.print(JSON.stringify(WatchTasksResponse.toJSON({ task, previousState })));
        return;
      }
      const change =
        previousState === TaskState.TASK_STATE_UNSPECIFIED
          ? formatTaskStateWithCancel(task)
          : `${formatTaskState(previousState)} -> ${formatTaskStateWithCancel(task)}`;
      const placement = task.state === TaskState.TASK_STATE_QUEUED || task.machineId === '' ? '' : `machine ${task.machineId}`;
      const attempt = task.attempt === 0 ? '' : `attempt ${task.attempt}`;
      const detail = [placement, attempt, formatTaskReason(task)].filter((part) => part !== '').join('  ');
      context.print(`${formatTime(new Date())}  ${task.id}  ${change}${detail === '' ? '' : `  ${detail}`}`);
    },
    allFinal() {
      return ids.length > 0 && ids.every((id) => FINAL_STATES.has(lastStates.get(id) ?? TaskState.TASK_STATE_UNSPECIFIED));
    },
  };
}

async function consumeStream(context: CommandContext, ids: string[], printer: ChangePrinter, controller: AbortController): Promise<void> {
  const stream = context.client().tasks.watchTasks({ taskIds: ids, includeCurrent: true }, { signal: controller.signal });
  for await (const event of stream) {
    if (event.task !== undefined) {
      printer.print(event.task, event.previousState);
    }
    if (printer.allFinal()) {
      controller.abort();
      return;
    }
  }
}

/** Prints the current state of each id (failing on unknown ids), then re-polls until all are final. */
async function pollUntilFinal(context: CommandContext, ids: string[], printer: ChangePrinter, controller: AbortController): Promise<void> {
  const signal = controller.signal;
  while (!signal.aborted) {
    for (const id of ids) {
      const { task } = await context.client().tasks.getTask({ id }, { signal });
      if (task !== undefined) {
        printer.print(task, TaskState.TASK_STATE_UNSPECIFIED);
      }
    }
    if (printer.allFinal()) {
      controller.abort();
      return;
    }
    await sleep(POLL_INTERVAL_MS, signal);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}
