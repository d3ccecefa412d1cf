/**
 * Failover test of the PostgreSQL store. It runs two replicas on a fresh
 * database and submits tasks under load with client-chosen ids. It kills the
 * leader with SIGKILL at random moments, so the follower takes over, and the
 * killed replica restarts as a follower. Then it checks that every
 * acknowledged task is present once, with consistent states and allocations,
 * and exits 1 on any violation.
 *
 *   export MACHINEHUB_TEST_PG_URL="$(scripts/start-postgres.sh)"
 *   npm run failover-test -- --kills 3 --tasks 300 [--replicas 2] [--agents 3] [--seed N]
 *
 * The URL names a cluster on which the test may create and drop databases.
 */
import { parseArgs } from 'node:util';
import { createTestDatabase } from '../test/ha/testDatabase.js';
import { reportSummary, wholeNumber } from '../test/store/harness/reportSummary.js';
import { runCrashTest } from '../test/store/harness/runCrashTest.js';

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '5' },
    tasks: { type: 'string', default: '2000' },
    replicas: { type: 'string', default: '2' },
    agents: { type: 'string', default: '3' },
    seed: { type: 'string' },
    'pg-url': { type: 'string' },
  },
});

const adminUrl = values['pg-url'] ?? process.env['MACHINEHUB_TEST_PG_URL'];
if (!adminUrl) {
  process.stderr.write('missing PostgreSQL URL: set MACHINEHUB_TEST_PG_URL (see scripts/start-postgres.sh) or pass --pg-url\n');
  process.exit(2);
}
const options = {
  kills: wholeNumber('kills', values.kills, 0),
  tasks: wholeNumber('tasks', values.tasks, 1),
  agents: wholeNumber('agents', values.agents, 1),
  replicas: wholeNumber('replicas', values.replicas, 2),
  ...(values.seed === undefined ? {} : { seed: wholeNumber('seed', values.seed, 0) }),
};
const database = await createTestDatabase(adminUrl);
try {
  const summary = await runCrashTest({
    ...options,
    store: { kind: 'postgres', url: database.url, replicas: options.replicas },
    log: (line) => console.log(line),
  });
  process.exitCode = reportSummary('failover test (PostgreSQL)', summary);
} finally {
  await database.drop();
}
