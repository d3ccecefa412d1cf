import type { Duration } from '../gen/google/protobuf/duration.js';

/** Converts a protobuf Duration to milliseconds; undefined stays undefined. */
export function durationToMs(duration: Duration | undefined): number | undefined {
  if (duration === undefined) {
    return undefined;
  }
  return duration.seconds * 1000 + Math.floor(duration.nanos / 1_000_000);
}

/** Converts milliseconds to a protobuf Duration. */
export function msToDuration(ms: number): Duration {
  const wholeMs = Math.max(0, Math.floor(ms));
  return { seconds: Math.floor(wholeMs / 1000), nanos: (wholeMs % 1000) * 1_000_000 };
}
