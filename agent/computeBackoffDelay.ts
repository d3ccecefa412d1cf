/** First reconnect delay before jitter, in ms. */
export const INITIAL_RECONNECT_BACKOFF_MS = 500;

/** Default upper bound of the reconnect delay, in ms. */
export const DEFAULT_MAX_RECONNECT_BACKOFF_MS = 30_000;

/**
 * Computes the delay before reconnect number `failures` (0 for the first
 * retry) with exponential backoff and full jitter: a uniform random value in
 * [0, min(max, initial * 2^failures)). Full jitter spreads a fleet that lost
 * its server at the same moment over the whole window instead of letting it
 * reconnect in lockstep.
 */
export function computeBackoffDelay(
  failures: number,
  maxDelayMs: number = DEFAULT_MAX_RECONNECT_BACKOFF_MS,
  initialDelayMs: number = INITIAL_RECONNECT_BACKOFF_MS,
  random: () => number = Math.random,
): number {
  // Cap the exponent so that 2^failures never overflows to Infinity.
  const exponent = Math.min(Math.max(0, failures), 30);
  const ceiling = Math.min(maxDelayMs, initialDelayMs * 2 ** exponent);
  return Math.floor(random() * ceiling);
}
