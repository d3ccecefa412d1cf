import type { AssignTask } from '../gen/machinehub/agent/v1/agent.js';

/** Outcome of one attempt, before the supervisor maps it to a TaskStatus. */
export interface AttemptOutcome {
  /** Exit status; -1 when killed by a signal, never started or failed in a handler. */
  exitCode: number;
  /** Reason for the failure; empty on exit status 0. */
  error: string;
  /** Last bytes of output, at most 4096. */
  outputTail: string;
}

/** Callbacks from an execution to the supervisor. Executions call each at most once. */
export interface AttemptCallbacks {
  /** The work has started: a process exists or the handler was called. */
  onStarted(): void;
  /** The work has ended. Called after onStarted when both happen. */
  onFinished(outcome: AttemptOutcome): void;
}

/** A running attempt, whatever executes it: a process or an in-process handler. */
export interface AttemptExecution {
  /** Asks the work to stop, and forces it after graceMs. */
  stop(graceMs: number): void;
  /** Forces the work to stop now. */
  kill(): void;
}

/**
 * Result of a task handler: an exit status, optionally with output for
 * TaskStatus.output_tail. 0 means success.
 */
export type TaskHandlerResult = number | { exitCode: number; outputTail?: string };

/**
 * Runs an assignment inside the agent process instead of spawning its
 * command. The signal aborts when the server cancels the attempt, its
 * timeout passes or the agent stops it at a drain deadline. The handler
 * should then return or throw soon, because after the grace period the agent
 * reports the attempt as ended whether or not the handler has returned.
 * A thrown error fails the attempt with exit status -1 and the error's message.
 */
export type TaskHandler = (assignment: AssignTask, signal: AbortSignal) => TaskHandlerResult | Promise<TaskHandlerResult>;
