/**
 * Crash test of the SQLite store: runs a real server process on a data
 * directory, submits tasks under load with client-chosen ids, SIGKILLs the
 * server at random moments and restarts it, then checks that every
 * acknowledged task is present once, with consistent states and
 * allocations. Exits 1 on any violation.
 *
 *   npm run crash-test -- --kills 3 --tasks 300 [--agents 3] [--seed N]
 */
import { parseArgs } from 'node:util';
import { runCrashTest, type CrashTestSummary } from '../test/store/harness/runCrashTest.js';

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '5' },
    tasks: { type: 'string', default: '2000' },
    agents: { type: 'string', default: '3' },
    seed: { type: 'string' },
  },
});

/** Parses a whole-number option or exits with a usage message. */
export function wholeNumber(name: string, text: string | undefined, min: number): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) {
    process.stderr.write(`invalid --${name} "${text}": expected a whole number of at least ${min}\n`);
    process.exit(2);
  }
  return value;
}

/** Prints the summary and returns the exit status: 0 when no violation was found. */
export function report(title: string, summary: CrashTestSummary): number {
  const recovery = summary.recoveryMs.length > 0 ? `${Math.min(...summary.recoveryMs)}..${Math.max(...summary.recoveryMs)} ms` : 'n/a';
  console.log(`${title}: seed ${summary.seed}, ${summary.acknowledged} tasks acknowledged, ${summary.kills} kills, ${summary.retries} retried calls`);
  console.log(`  recovery after kill: ${recovery} (${summary.recoveryMs.join(', ')})`);
  console.log(`  final states: ${JSON.stringify(summary.states)}; ${(summary.durationMs / 1000).toFixed(1)} s`);
  if (summary.violations.length === 0) {
    console.log('  no violations');
    return 0;
  }
  console.log(`  ${summary.violations.length} violations (logs in ${summary.workDir}):`);
  for (const violation of summary.violations.slice(0, 50)) console.log(`  - ${violation}`);
  return 1;
}

const summary = await runCrashTest({
  kills: wholeNumber('kills', values.kills, 0),
  tasks: wholeNumber('tasks', values.tasks, 1),
  agents: wholeNumber('agents', values.agents, 1),
  ...(values.seed === undefined ? {} : { seed: wholeNumber('seed', values.seed, 0) }),
  store: { kind: 'sqlite' },
  log: (line) => console.log(line),
});
process.exit(report('crash test (SQLite)', summary));
