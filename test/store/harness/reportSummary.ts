import type { CrashTestSummary } from './runCrashTest.js';

/** Parses a whole-number command-line option, or exits with status 2 and a usage message. */
export function wholeNumber(name: string, text: string | undefined, min: number): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) {
    process.stderr.write(`invalid --${name} "${text}": expected a whole number of at least ${min}\n`);
    process.exit(2);
  }
  return value;
}

/** Prints a crash or failover test summary and returns the exit status: 0 when no violation was found. */
export function reportSummary(title: string, summary: CrashTestSummary): number {
  const recovery = summary.recoveryMs.length > 0 ? `${Math.min(...summary.recoveryMs)}..${Math.max(...summary.recoveryMs)} ms` : 'n/a';
  console.log(`${title}: seed ${summary.seed}, ${summary.acknowledged} tasks acknowledged, ${summary.kills} kills, ${summary.retries} retried calls`);
  console.log(`  from kill to serving again: ${recovery} (${summary.recoveryMs.join(', ')})`);
  console.log(`  final states: ${JSON.stringify(summary.states)}; ${(summary.durationMs / 1000).toFixed(1)} s`);
  if (summary.violations.length === 0) {
    console.log('  no violations');
    return 0;
  }
  console.log(`  ${summary.violations.length} violations (logs in ${summary.workDir}):`);
  for (const violation of summary.violations.slice(0, 50)) console.log(`  - ${violation}`);
  return 1;
}
