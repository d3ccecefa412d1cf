import type { Logger } from 'pino';

import { CancelReason, cancelReasonToJSON, type AssignTask, type CancelTask, type RunningAttempt, type TaskStatus } from '../gen/machinehub/agent/v1/agent.js';
import { TaskState } from '../gen/machinehub/task/v1/task.js';
import type { AttemptExecution, AttemptOutcome, TaskHandler } from './AttemptExecution.js';
import { durationToMs } from './durations.js';
import { startHandlerAttempt } from './startHandlerAttempt.js';
import { startProcessAttempt } from './startProcessAttempt.js';

/** Maximum delay setTimeout honours, ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Default time between SIGTERM and SIGKILL when the agent itself stops an attempt, ms. */
export const DEFAULT_KILL_GRACE_MS = 10_000;

/** Reason the agent stopped an attempt before it ended by itself. */
type StopReason = 'cancel' | 'timeout' | 'drain';

interface AttemptRun {
  readonly taskId: string;
  readonly attempt: number;
  readonly startTime: number;
  /** Set when the agent asked the attempt to stop; decides the final state. */
  stopReason: StopReason | undefined;
  /** Message for the final TaskStatus.error when stopReason is set. */
  stopError: string;
  timeoutTimer: NodeJS.Timeout | undefined;
  execution: AttemptExecution | undefined;
}

export interface TaskSupervisorOptions {
  /** Sends a TaskStatus to the server, or buffers it while disconnected. */
  report: (status: TaskStatus) => void;
  logger: Logger;
  /** Grace period for timeouts and drain deadlines, ms. Default DEFAULT_KILL_GRACE_MS. */
  killGraceMs?: number;
  /** Working directory of task processes. Default: the agent's current directory. */
  workDir?: string;
}

/**
 * The attempts an agent runs: starts them on AssignTask, stops them on
 * CancelTask, timeout or drain, and reports each one's TaskStatus (RUNNING,
 * then exactly one final state). Attempts run as processes unless a
 * TaskHandler is set.
 */
export class TaskSupervisor {
  /** In-process handler used instead of spawning the command, when set. */
  handler: TaskHandler | undefined;

  private readonly runs = new Map<string, AttemptRun>();
  private readonly killGraceMs: number;
  private draining = false;
  private idleWaiters: Array<() => void> = [];
  /** Cached for heartbeats; rebuilt only when an attempt starts or ends. */
  private runningCache: RunningAttempt[] = [];

  constructor(private readonly options: TaskSupervisorOptions) {
    this.killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  }

  /** Attempts running now. The array is shared and replaced on change: do not mutate it. */
  get running(): RunningAttempt[] {
    return this.runningCache;
  }

  get size(): number {
    return this.runs.size;
  }

  /** Starts an assignment, unless the agent is draining or already runs that attempt. */
  assign(assignment: AssignTask): void {
    const { taskId, attempt } = assignment;
    const logger = this.options.logger;
    const key = attemptKey(taskId, attempt);

    if (this.runs.has(key)) {
      logger.warn({ taskId, attempt }, 'ignored duplicate assignment of a running attempt');
      return;
    }
    if (this.draining) {
      logger.warn({ taskId, attempt }, 'rejected assignment because the agent is draining');
      this.report(taskId, attempt, TaskState.TASK_STATE_FAILED, { exitCode: -1, error: 'agent draining', outputTail: '' });
      return;
    }

    const run: AttemptRun = {
      taskId,
      attempt,
      startTime: Date.now(),
      stopReason: undefined,
      stopError: '',
      timeoutTimer: undefined,
      execution: undefined,
    };
    this.runs.set(key, run);
    this.refreshRunning();

    logger.info(
      { taskId, attempt, command: assignment.spec?.command, gpuIndices: assignment.gpuIndices, handler: this.handler !== undefined },
      'assigned task',
    );

    const callbacks = {
      onStarted: () => {
        logger.debug({ taskId, attempt }, 'task started');
        this.report(taskId, attempt, TaskState.TASK_STATE_RUNNING, { exitCode: 0, error: '', outputTail: '' });
      },
      onFinished: (outcome: AttemptOutcome) => this.finish(key, run, outcome),
    };
    try {
      run.execution =
        this.handler === undefined
          ? startProcessAttempt(assignment, this.options.workDir, callbacks)
          : startHandlerAttempt(this.handler, assignment, callbacks);
    } catch (err) {
      // spawn() throws synchronously on some invalid input, such as an empty command.
      this.finish(key, run, { exitCode: -1, error: err instanceof Error ? err.message : String(err), outputTail: '' });
      return;
    }

    const timeoutMs = durationToMs(assignment.spec?.timeout) ?? 0;
    if (timeoutMs > 0 && this.runs.get(key) === run) {
      // setTimeout fires at once past 2^31-1 ms (about 24.8 days), so longer timeouts are capped there.
      run.timeoutTimer = setTimeout(() => {
        const graceMs = durationToMs(assignment.killGracePeriod) ?? this.killGraceMs;
        this.stop(run, 'timeout', `timed out after ${formatSeconds(timeoutMs)}`, graceMs);
      }, Math.min(timeoutMs, MAX_TIMER_MS));
    }
  }

  /**
   * Stops an attempt for CancelTask and reports CANCELLED once it ended. An
   * attempt this agent does not run is reported CANCELLED at once, so the
   * server can release its resources.
   */
  cancel(cancel: CancelTask): void {
    const { taskId, attempt } = cancel;
    const reason = cancelReasonToJSON(cancel.reason);
    const run = this.runs.get(attemptKey(taskId, attempt));

    if (run === undefined) {
      this.options.logger.info({ taskId, attempt, reason }, 'cancel of an attempt not running here; reporting it cancelled');
      this.report(taskId, attempt, TaskState.TASK_STATE_CANCELLED, { exitCode: -1, error: cancelError(cancel.reason), outputTail: '' });
      return;
    }

    const graceMs = durationToMs(cancel.gracePeriod) ?? this.killGraceMs;
    this.options.logger.info({ taskId, attempt, reason, graceMs }, 'cancelling task');
    this.stop(run, 'cancel', cancelError(cancel.reason), graceMs);
  }

  /** Makes every later assignment fail with "agent draining". */
  startDraining(): void {
    this.draining = true;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Stops every attempt because the drain deadline passed; they are reported FAILED. */
  stopAllForDrain(deadlineMs: number): void {
    for (const run of this.runs.values()) {
      this.stop(run, 'drain', `stopped at the agent's drain deadline after ${formatSeconds(deadlineMs)}`, this.killGraceMs);
    }
  }

  /** Kills every attempt at once without waiting; used when the agent exits now. */
  killAll(): void {
    for (const run of this.runs.values()) {
      run.execution?.kill();
    }
  }

  /** Resolves true once no attempt runs, or false when timeoutMs passes first. */
  waitIdle(timeoutMs: number): Promise<boolean> {
    if (this.runs.size === 0) {
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((waiter) => waiter !== onIdle);
        resolve(false);
      }, timeoutMs);
      const onIdle = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.idleWaiters.push(onIdle);
    });
  }

  private stop(run: AttemptRun, reason: StopReason, error: string, graceMs: number): void {
    // The first reason wins: a cancel during a timeout stop still ends FAILED
    // with the timeout, which is what happened to the attempt.
    if (run.stopReason === undefined) {
      run.stopReason = reason;
      run.stopError = error;
    }
    clearTimeout(run.timeoutTimer);
    try {
      run.execution?.stop(graceMs);
    } catch (err) {
      this.options.logger.error({ taskId: run.taskId, attempt: run.attempt, err }, 'failed to signal the task process group');
    }
  }

  private finish(key: string, run: AttemptRun, outcome: AttemptOutcome): void {
    clearTimeout(run.timeoutTimer);
    this.runs.delete(key);
    this.refreshRunning();

    let state: TaskState;
    let final: AttemptOutcome = outcome;
    if (run.stopReason === 'cancel') {
      state = TaskState.TASK_STATE_CANCELLED;
      final = { exitCode: -1, error: run.stopError, outputTail: outcome.outputTail };
    } else if (run.stopReason !== undefined) {
      state = TaskState.TASK_STATE_FAILED;
      final = { exitCode: -1, error: run.stopError, outputTail: outcome.outputTail };
    } else {
      state = outcome.exitCode === 0 ? TaskState.TASK_STATE_COMPLETED : TaskState.TASK_STATE_FAILED;
    }

    this.options.logger.info(
      {
        taskId: run.taskId,
        attempt: run.attempt,
        state: TaskState[state],
        exitCode: final.exitCode,
        error: final.error || undefined,
        durationMs: Date.now() - run.startTime,
      },
      'task ended',
    );
    this.report(run.taskId, run.attempt, state, final);

    if (this.runs.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const waiter of waiters) {
        waiter();
      }
    }
  }

  private report(taskId: string, attempt: number, state: TaskState, outcome: AttemptOutcome): void {
    this.options.report({ taskId, attempt, state, exitCode: outcome.exitCode, error: outcome.error, outputTail: outcome.outputTail });
  }

  private refreshRunning(): void {
    this.runningCache = Array.from(this.runs.values(), ({ taskId, attempt }) => ({ taskId, attempt }));
  }
}

function attemptKey(taskId: string, attempt: number): string {
  return `${taskId}#${attempt}`;
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))}s`;
}

function cancelError(reason: CancelReason): string {
  switch (reason) {
    case CancelReason.CANCEL_REASON_CLIENT:
      return 'cancelled by a client';
    case CancelReason.CANCEL_REASON_STALE_ATTEMPT:
      return 'cancelled as a stale attempt';
    case CancelReason.CANCEL_REASON_MACHINE_REMOVED:
      return 'cancelled because the machine was removed or its drain deadline passed';
    default:
      return 'cancelled by the server';
  }
}
