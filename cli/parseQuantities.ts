import type { Duration } from '../gen/google/protobuf/duration.js';
import { UsageError } from './UsageError.js';

/**
 * Parses a CPU amount in cores ("4", "0.5", "1.250") into millicores. At
 * most three decimals, because the wire unit is one millicore.
 */
export function parseCores(option: string, text: string): number {
  const match = /^(\d+)(?:\.(\d{1,3}))?$/.exec(text.trim());
  if (match === null) {
    throw new UsageError(`invalid --${option} "${text}": expected a number of CPU cores with at most 3 decimals, such as 4 or 0.5`);
  }
  const whole = Number(match[1]);
  const fraction = Number((match[2] ?? '').padEnd(3, '0'));
  const millicores = whole * 1000 + fraction;
  if (!Number.isSafeInteger(millicores)) {
    throw new UsageError(`invalid --${option} "${text}": too large`);
  }
  return millicores;
}

/**
 * Parses a whole number between `min` and `max`. `unit` names what it counts
 * in the error message, for example "MiB".
 */
export function parseWholeNumber(option: string, text: string, unit: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const trimmed = text.trim();
  if (!/^-?\d+$/.test(trimmed)) {
    throw new UsageError(`invalid --${option} "${text}": expected a whole number of ${unit}`);
  }
  const value = Number(trimmed);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`invalid --${option} "${text}": expected ${unit} from ${min} to ${max}`);
  }
  return value;
}

/** Parses seconds, with at most nine decimals ("30", "1.5"), into a protobuf Duration. */
export function parseSeconds(option: string, text: string): Duration {
  const match = /^(\d+)(?:\.(\d{1,9}))?$/.exec(text.trim());
  if (match === null) {
    throw new UsageError(`invalid --${option} "${text}": expected seconds, such as 30 or 1.5`);
  }
  const seconds = Number(match[1]);
  if (!Number.isSafeInteger(seconds)) {
    throw new UsageError(`invalid --${option} "${text}": too large`);
  }
  return { seconds, nanos: Number((match[2] ?? '').padEnd(9, '0')) };
}
