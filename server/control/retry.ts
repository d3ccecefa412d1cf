import type { TaskSpec } from '../../gen/machinehub/task/v1/task.js';
import type { Duration } from '../../gen/google/protobuf/duration.js';

/** Attempts in all when RetryPolicy.max_attempts is 0. */
export const DEFAULT_MAX_ATTEMPTS = 3;
export const DEFAULT_INITIAL_BACKOFF_MS = 1_000;
export const DEFAULT_MAX_BACKOFF_MS = 60_000;

/** Converts a protobuf Duration to whole milliseconds; unset is undefined. */
export function durationMs(duration: Duration | undefined): number | undefined {
  if (!duration) return undefined;
  return duration.seconds * 1000 + Math.floor(duration.nanos / 1e6);
}

/** Converts whole milliseconds to a protobuf Duration. */
export function msToDuration(ms: number): Duration {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}

export function maxAttempts(spec: TaskSpec): number {
  return spec.retry?.maxAttempts || DEFAULT_MAX_ATTEMPTS;
}

/**
 * Wait before the attempt after `failedAttempt`: the initial backoff doubled
 * for each earlier failure, capped at the maximum.
 */
export function backoffMs(spec: TaskSpec, failedAttempt: number): number {
  const initial = durationMs(spec.retry?.initialBackoff) ?? DEFAULT_INITIAL_BACKOFF_MS;
  const max = durationMs(spec.retry?.maxBackoff) ?? DEFAULT_MAX_BACKOFF_MS;
  return Math.min(max, initial * 2 ** Math.min(failedAttempt - 1, 30));
}
