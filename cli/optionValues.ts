import { UsageError } from './UsageError.js';
import type { OptionValues } from './Command.js';

/** Returns a string option, or undefined when it is absent. */
export function stringOption(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/** Returns every value of a repeatable string option, in command-line order. */
export function stringListOption(values: OptionValues, name: string): string[] {
  const value = values[name];
  if (Array.isArray(value)) {
    return value.filter((item): item is string => typeof item === 'string');
  }
  return typeof value === 'string' ? [value] : [];
}

/** Raises UsageError when more than one of the named options is set. */
export function rejectTogether(values: OptionValues, names: string[]): void {
  const present = names.filter((name) => values[name] !== undefined);
  if (present.length > 1) {
    throw new UsageError(`${present.map((name) => `--${name}`).join(' and ')} cannot be used together`);
  }
}

/** Returns the positional argument at `index`, or raises UsageError naming what is missing. */
export function requiredPositional(positionals: string[], index: number, argumentName: string): string {
  const value = positionals[index];
  if (value === undefined || value === '') {
    throw new UsageError(`missing ${argumentName}`);
  }
  return value;
}

/** Raises UsageError when there are more positional arguments than `count`. */
export function rejectExtraPositionals(positionals: string[], count: number): void {
  const extra = positionals[count];
  if (extra !== undefined) {
    throw new UsageError(`unexpected argument "${extra}"`);
  }
}
