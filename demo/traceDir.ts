import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Returns the OpenB trace folder: the copy shipped in `traces/openb/` of this
 * repository, or `MACHINEHUB_TRACE_DIR` when set.
 */
export function defaultTraceDir(): string {
  const fromEnv = process.env.MACHINEHUB_TRACE_DIR;
  if (fromEnv) return fromEnv;
  const shipped = fileURLToPath(new URL('../traces/openb', import.meta.url));
  if (!existsSync(shipped)) throw new Error(`OpenB trace not found at ${shipped}; set MACHINEHUB_TRACE_DIR`);
  return shipped;
}
