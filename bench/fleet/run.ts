/**
 * Fleet scale benchmark: one server process, N simulated agents (one real
 * Connect stream each) in this process, then a burst of N one-CPU tasks.
 *
 *   npm run bench:fleet -- [--agents 10000]
 *
 * Reports the time to register every agent, the server's resident memory
 * and the dispatch rate of the burst, as a Markdown table to paste into
 * docs/benchmarks.md.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { TaskSpec } from '../../gen/machinehub/task/v1/task.js';
import { createMachinehubClient } from '../../client/index.js';
import { FleetSimulator } from '../../demo/FleetSimulator.js';
import { percentile } from '../../demo/percentile.js';

const { values } = parseArgs({ options: { agents: { type: 'string', default: '10000' }, port: { type: 'string', default: '50690' } } });
const agents = Number(values.agents);
const address = `127.0.0.1:${values.port}`;
const CLI = fileURLToPath(new URL('../../bin/machinehub.js', import.meta.url));

const server = spawn(process.execPath, [CLI, 'server', '--in-memory', '--listen', address, '--log-level', 'warn'], {
  stdio: ['ignore', 'ignore', 'pipe'],
});
// The CLI announces "machinehub server listening on ADDR" on standard error.
await new Promise<void>((resolve, reject) => {
  server.stderr.on('data', (chunk: Buffer) => chunk.toString().includes('listening') && resolve());
  server.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
});
const rssMib = () => {
  const line = readFileSync(`/proc/${server.pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:')) ?? '';
  return Math.round(Number(line.replace(/\D+/g, '')) / 1024);
};
const idleRss = rssMib();

const running = new Map<string, number>();
const latencies: number[] = [];
const submittedAt = new Map<string, number>();
let finished = 0;
const simulator = new FleetSimulator(address, {
  onRunning(taskId, _machineId, atMs) {
    const sent = submittedAt.get(taskId);
    if (sent !== undefined) latencies.push(atMs - sent);
    running.set(taskId, atMs);
  },
  onFinished() {
    finished += 1;
  },
});
const machines = Array.from({ length: agents }, (_, i) => ({
  id: `sim-${String(i).padStart(5, '0')}`,
  capacity: { cpuMilli: 8000, memoryMib: 32768, gpus: [] },
}));
const connectStart = performance.now();
await simulator.start(machines);
const connectSeconds = (performance.now() - connectStart) / 1000;
const client = createMachinehubClient(address);
const { agents: listed } = await client.agents.listAgents({});
const connectedRss = rssMib();

// Let a few heartbeat rounds pass, so their cost shows in memory.
await new Promise((resolve) => setTimeout(resolve, 15_000));
const heartbeatRss = rssMib();

const tasks = Array.from({ length: agents }, (_, i) => ({ ...TaskSpec.fromJSON({}), id: `burst-${i}`, command: 'sleep', args: ['0'], resources: { cpuMilli: 1000, memoryMib: 256, gpuCount: 0, gpuMilli: 0, gpuMemoryMib: 0, gpuModels: [] } }));
const burstStart = performance.now();
for (let i = 0; i < tasks.length; i += 1000) {
  const batch = tasks.slice(i, i + 1000);
  const now = performance.now();
  for (const spec of batch) submittedAt.set(spec.id, now);
  await client.tasks.submitTasks({ tasks: batch });
}
while (finished < agents && performance.now() - burstStart < 120_000) await new Promise((resolve) => setTimeout(resolve, 50));
const burstSeconds = (performance.now() - burstStart) / 1000;
latencies.sort((a, b) => a - b);

await simulator.stop();
client.close();
server.kill('SIGTERM');

const rows: [string, string][] = [
  ['agents connected', `${listed.length} of ${agents}`],
  ['time to register all', `${connectSeconds.toFixed(1)} s`],
  ['server RSS idle, connected, after 15 s of heartbeats', `${idleRss} MiB, ${connectedRss} MiB, ${heartbeatRss} MiB`],
  [`burst of ${agents} one-CPU tasks`, `${finished} finished in ${burstSeconds.toFixed(1)} s (${Math.round(finished / burstSeconds)} tasks/s)`],
  ['submit-to-running', `p50 ${percentile(latencies, 0.5).toFixed(0)} ms, p99 ${percentile(latencies, 0.99).toFixed(0)} ms`],
];
console.log(`Command: npm run bench:fleet -- --agents ${agents}; ${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}`);
console.log('\n| measure | value |\n|---|---|');
for (const [name, value] of rows) console.log(`| ${name} | ${value} |`);
process.exit(0);
