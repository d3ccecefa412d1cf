import { UsageError } from './UsageError.js';

/** Parses "key=value" into its two parts. The value may be empty and may contain "=". */
export function parseKeyValue(option: string, text: string): [string, string] {
  const separator = text.indexOf('=');
  if (separator <= 0) {
    throw new UsageError(`invalid --${option} "${text}": expected KEY=VALUE`);
  }
  return [text.slice(0, separator), text.slice(separator + 1)];
}

/** Parses every "key=value" of a repeatable option into a map; a later key replaces an earlier one. */
export function parseKeyValues(option: string, texts: string[]): Record<string, string> {
  const result: Record<string, string> = {};
  for (const text of texts) {
    const [key, value] = parseKeyValue(option, text);
    result[key] = value;
  }
  return result;
}
