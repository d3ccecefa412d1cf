/**
 * Submit throughput per store: in-memory, SQLite and PostgreSQL, each behind
 * a real server process, measured from a gRPC client that waits for every
 * SubmitTasks response (so each accepted task is durable). No agents are
 * connected, so tasks stay queued and the numbers are the write path alone.
 *
 *   npm run bench:store -- [--duration-ms 3000] [--pg-url postgres://...] [--write]
 *
 * PostgreSQL runs when --pg-url or MACHINEHUB_TEST_PG_URL names a cluster on
 * which the benchmark may create and drop a database. --write replaces the
 * "## Store" section of docs/benchmarks.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createChannel, createClient } from 'nice-grpc';
import pg from 'pg';
import { TaskServiceDefinition, TaskSpec, TaskState } from '../../gen/machinehub/task/v1/task.js';
import type { ServerOptions } from '../../server/options.js';
import { createTestDatabase } from '../../test/ha/testDatabase.js';
import { freePort } from '../../test/store/freePort.js';
import { ServerProcess } from '../../test/store/harness/ServerProcess.js';
import { writeStoreSection } from './writeStoreSection.js';

const { values } = parseArgs({
  options: {
    'duration-ms': { type: 'string', default: '3000' },
    'pg-url': { type: 'string' },
    write: { type: 'boolean', default: false },
  },
});
const durationMs = Number(values['duration-ms']);
if (!Number.isSafeInteger(durationMs) || durationMs < 100) {
  process.stderr.write(`invalid --duration-ms "${values['duration-ms']}": expected a whole number of at least 100\n`);
  process.exit(2);
}
const pgUrl = values['pg-url'] ?? process.env['MACHINEHUB_TEST_PG_URL'];

/** Request shapes: tasks per SubmitTasks call and calls in flight at once. */
const CASES = [
  { batch: 1, callers: 1 },
  { batch: 1, callers: 32 },
  { batch: 100, callers: 1 },
  { batch: 100, callers: 4 },
];

interface Result {
  store: string;
  batch: number;
  callers: number;
  tasksPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

let idCounter = 0;

function spec(): TaskSpec {
  return TaskSpec.fromJSON({
    id: `bench-${++idCounter}`,
    command: 'true',
    args: ['--shard', String(idCounter)],
    env: { SHARD: String(idCounter) },
    resources: { cpuMilli: 500, memoryMib: 256 },
  });
}

/** Submits from `callers` loops for `ms` and returns tasks/s and RPC latency percentiles. */
async function measure(address: string, batch: number, callers: number, ms: number) {
  const channel = createChannel(address);
  const tasks = createClient(TaskServiceDefinition, channel);
  const latencies: number[] = [];
  let accepted = 0;
  const started = performance.now();
  const deadline = started + ms;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < deadline) {
        const request = { tasks: Array.from({ length: batch }, spec) };
        const sent = performance.now();
        await tasks.submitTasks(request);
        latencies.push(performance.now() - sent);
        accepted += batch;
      }
    }),
  );
  const elapsed = performance.now() - started;
  channel.close();
  latencies.sort((a, b) => a - b);
  const percentile = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  return { tasksPerSecond: (accepted / elapsed) * 1000, p50Ms: percentile(0.5), p99Ms: percentile(0.99) };
}

async function waitForServing(address: string): Promise<void> {
  const channel = createChannel(address);
  const tasks = createClient(TaskServiceDefinition, channel);
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await tasks.listTasks({ state: TaskState.TASK_STATE_UNSPECIFIED, pageSize: 1, pageToken: '' });
      channel.close();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`server at ${address} did not serve within 30 s`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function benchStore(store: string, options: ServerOptions, workDir: string): Promise<Result[]> {
  const address = `127.0.0.1:${await freePort()}`;
  const server = new ServerProcess(store, address, { logLevel: 'warn', ...options }, path.join(workDir, `${store}.log`));
  server.start();
  const results: Result[] = [];
  try {
    await waitForServing(address);
    await measure(address, 10, 4, 300); // Warm-up: JIT compilation and connections.
    for (const { batch, callers } of CASES) {
      const result = await measure(address, batch, callers, durationMs);
      results.push({ store, batch, callers, ...result });
      console.log(`${store}: batch ${batch}, ${callers} callers: ${Math.round(result.tasksPerSecond)} tasks/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms`);
    }
  } finally {
    await server.stop();
  }
  return results;
}

async function postgresVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    const fsync = await client.query<{ fsync: string }>('SHOW fsync');
    const commit = await client.query<{ synchronous_commit: string }>('SHOW synchronous_commit');
    return `PostgreSQL ${rows[0]?.server_version} on 127.0.0.1 (fsync=${fsync.rows[0]?.fsync}, synchronous_commit=${commit.rows[0]?.synchronous_commit})`;
  } finally {
    await client.end();
  }
}

const workDir = mkdtempSync(path.join(os.tmpdir(), 'machinehub-bench-store-'));
const started = Date.now();
const results: Result[] = [];
let pgDescription = 'PostgreSQL: not run (no --pg-url or MACHINEHUB_TEST_PG_URL)';
try {
  results.push(...(await benchStore('memory', { inMemory: true }, workDir)));
  results.push(...(await benchStore('sqlite', { dataDir: path.join(workDir, 'data') }, workDir)));
  if (pgUrl) {
    const database = await createTestDatabase(pgUrl);
    try {
      pgDescription = await postgresVersion(database.url);
      results.push(...(await benchStore('postgres', { postgresUrl: database.url, advertiseAddress: '127.0.0.1:0' }, workDir)));
    } finally {
      await database.drop();
    }
  }
} finally {
  rmSync(workDir, { recursive: true, force: true });
}

const cpus = os.cpus();
const section = [
  '## Store',
  '',
  `Command: \`${pgUrl ? 'MACHINEHUB_TEST_PG_URL=$(scripts/start-postgres.sh) ' : ''}npm run bench:store -- --duration-ms ${durationMs} --write\` (bench/store/run.ts), run ${new Date().toISOString().slice(0, 10)}.`,
  `Machine: ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.type()} ${os.release()}; data in ${os.tmpdir()} on the same disk.`,
  `${pgDescription}.`,
  'Server: one process per store (`node --import tsx`), no agents, log level warn; client in the benchmark process, over loopback.',
  `Each row submits unique tasks for ${durationMs} ms; a caller sends its next SubmitTasks after the previous response, so every counted task was durable when answered.`,
  'Other jobs shared the cores, so the numbers are noisy.',
  '',
  '| store | tasks per call | callers | tasks/s | call p50 | call p99 |',
  '|---|---|---|---|---|---|',
  ...results.map(
    (r) => `| ${r.store} | ${r.batch} | ${r.callers} | ${Math.round(r.tasksPerSecond).toLocaleString('en-US')} | ${r.p50Ms.toFixed(2)} ms | ${r.p99Ms.toFixed(2)} ms |`,
  ),
  '',
  `Whole benchmark: ${Math.round((Date.now() - started) / 1000)} s.`,
].join('\n');
console.log(`\n${section}`);
if (values.write) {
  writeStoreSection('docs/benchmarks.md', section);
  console.log('\nwrote the "## Store" section of docs/benchmarks.md');
}
