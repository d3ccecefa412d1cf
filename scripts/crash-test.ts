/**
 * Crash test of the SQLite store. It runs a real server process on a data
 * directory and submits tasks under load with client-chosen ids. It kills the
 * server with SIGKILL at random moments and restarts it. Then it checks that
 * every acknowledged task is present once, with consistent states and
 * allocations, and exits 1 on any violation.
 *
 *   npm run crash-test -- --kills 3 --tasks 300 [--agents 3] [--seed N]
 */
import { parseArgs } from 'node:util';
import { reportSummary, wholeNumber } from '../test/store/harness/reportSummary.js';
import { runCrashTest } from '../test/store/harness/runCrashTest.js';

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '5' },
    tasks: { type: 'string', default: '2000' },
    agents: { type: 'string', default: '3' },
    seed: { type: 'string' },
  },
});

const summary = await runCrashTest({
  kills: wholeNumber('kills', values.kills, 0),
  tasks: wholeNumber('tasks', values.tasks, 1),
  agents: wholeNumber('agents', values.agents, 1),
  ...(values.seed === undefined ? {} : { seed: wholeNumber('seed', values.seed, 0) }),
  store: { kind: 'sqlite' },
  log: (line) => console.log(line),
});
process.exit(reportSummary('crash test (SQLite)', summary));
