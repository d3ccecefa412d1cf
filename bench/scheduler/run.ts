/**
 * Scheduler benchmark: packing quality on the OpenB GPU fleet, placement
 * speed at 1x, 10x and 100x the OpenB fleet against a naive first-fit scan,
 * and heap used by a large fleet and queue. Prints a Markdown section and
 * writes it into docs/benchmarks.md under "## Scheduler".
 *
 * Usage: npm run bench:scheduler [-- --quick] [-- --no-write]
 * (`--quick` runs 3 seeds, 1x and 10x fleets and a 10x memory case for CI.)
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { loadDefaultTasks, loadMachines, replicate } from './loadOpenb.ts';
import { measureMemory } from './memory.ts';
import { measureUnallocated, median, type PackingPolicy } from './packing.ts';
import { measureFirstFit, measureScheduler, type SpeedResult } from './speed.ts';
import { writeSection } from './writeSection.ts';

const quick = process.argv.includes('--quick');
const write = !process.argv.includes('--no-write');
const seeds = quick ? [42, 43, 44] : [42, 43, 44, 45, 46, 47, 48, 49, 50, 51];
const scales = quick ? [1, 10] : [1, 10, 100];
const memoryScale = quick ? 10 : 100;
const memoryTasks = quick ? 10_000 : 100_000;
const packingPolicies: PackingPolicy[] = ['random', 'first-fit', 'binpack', 'spread', 'fgd'];

if ((globalThis as { gc?: unknown }).gc === undefined) {
  console.error('warning: run node with --expose-gc (npm run bench:scheduler does) or heap numbers include garbage');
}

const started = performance.now();
const allMachines = loadMachines('openb_node_list_all_node.csv');
const gpuMachines = loadMachines('openb_node_list_gpu_node.csv');
const tasks = loadDefaultTasks();

const lines: string[] = [];
const log = (line: string) => {
  lines.push(line);
  console.log(line);
};

log('## Scheduler');
log('');
log(`Command: \`npm run bench:scheduler${quick ? ' -- --quick' : ''}\` (bench/scheduler/run.ts), run ${new Date().toISOString().slice(0, 10)}.`);
log(`Machine: ${cpuModel()}, ${cpus().length} cores, Node ${process.version}. Other jobs shared the cores, so the times are noisy.`);
const nodeFlags = process.execArgv.filter((flag) => flag.startsWith('--') && !flag.startsWith('--import'));
const semiSpaceNote = nodeFlags.some((flag) => flag.startsWith('--max-semi-space-size'))
  ? ' (the larger young generation cuts garbage-collection time for the scheduler\'s long-lived heap entries)'
  : '';
log(`Node flags: \`${nodeFlags.join(' ') || 'none'}\`${semiSpaceNote}.`);
log('Data: OpenB trace (Alibaba `cluster-trace-gpu-v2023`, published with Weng et al., "Beware of Fragmentation", USENIX ATC 2023).');
log('');

log('### Packing quality');
log('');
log(`${gpuMachines.length} GPU machines (${gpuMachines.reduce((sum, machine) => sum + machine.gpus.length, 0)} GPUs). Tasks are drawn with replacement, in seeded random order, from`);
log(`openb_pod_list_default.csv until the GPUs requested reach 100% of GPU capacity. Tasks never leave and a task that cannot be placed`);
log(`is dropped. "Unallocated" is 1 - allocated GPU milli / total GPU milli at the end. Median over seeds ${seeds[0]}-${seeds.at(-1)}.`);
log('`random` and `first-fit` are the naive baseline in bench/scheduler/NaiveScheduler.ts; the rest are Scheduler policies.');
log('');
log('| policy | median unallocated | min | max | published median (same method) |');
log('|---|---|---|---|---|');
const published: Record<string, string> = { random: '13.75%', binpack: '7.09% (best-fit)', fgd: '4.77%' };
for (const policy of packingPolicies) {
  const values = seeds.map((seed) => measureUnallocated(gpuMachines, tasks, policy, seed));
  log(`| ${policy} | ${percent(median(values))} | ${percent(Math.min(...values))} | ${percent(Math.max(...values))} | ${published[policy] ?? '-'} |`);
}
const otherSeeds = quick ? [1, 2, 3] : [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const fgdOther = otherSeeds.map((seed) => measureUnallocated(gpuMachines, tasks, 'fgd', seed));
log('');
log(`For comparison across seed sets, fgd on seeds ${otherSeeds[0]}-${otherSeeds.at(-1)} leaves a median of ${percent(median(fgdOther))} unallocated (min ${percent(Math.min(...fgdOther))}, max ${percent(Math.max(...fgdOther))}).`);
log('');

log('### Placement speed');
log('');
log(`All ${tasks.length} tasks of openb_pod_list_default.csv submitted at once on the ${allMachines.length} OpenB machines, copied 1x to ${scales.at(-1)}x.`);
log(`Scheduler: default policy (fgd), one \`schedule()\` pass, ${quick ? '1 timed run after 1' : 'median and fastest of 10 fresh runs after 2'} untimed warm-up runs; p99 from timing \`schedule(1)\` calls.`);
log(`Load average (1 min) when the speed runs started: ${loadavg()[0]!.toFixed(1)}.`);
log('First-fit: naive scan over all machines per task, in trace order, every task timed.');
log('');
log('| fleet | machines | scheduler placements | scheduler placements/s (median) | scheduler placements/s (fastest) | scheduler p99 per decision | first-fit placements | first-fit placements/s | first-fit p99 per decision |');
log('|---|---|---|---|---|---|---|---|---|');
const speeds = new Map<number, SpeedResult>();
for (const scale of scales) {
  const machines = replicate(allMachines, scale);
  const scheduler = measureScheduler(machines, tasks, quick ? 1 : 10, quick ? 1 : 2);
  const baseline = measureFirstFit(machines, tasks, tasks.length);
  speeds.set(scale, scheduler);
  log(
    `| ${scale}x | ${machines.length} | ${scheduler.placements} | ${rate(scheduler.placementsPerSecond)} | ${rate(scheduler.bestPlacementsPerSecond)} | ${micros(scheduler.p99Micros)} | ` +
      `${baseline.placements} | ${rate(baseline.placementsPerSecond)} | ${micros(baseline.p99Micros)} |`,
  );
}
const largest = scales.at(-1)!;
const ratio = speeds.get(1)!.placementsPerSecond / speeds.get(largest)!.placementsPerSecond;
log('');
log(`Time per placement at ${largest}x is ${ratio.toFixed(2)}x the time at 1x (scheduler, from the median throughput).`);
log(`Load average (1 min) when the speed runs ended: ${loadavg()[0]!.toFixed(1)}.`);
log('');

log('### Memory');
log('');
const memory = measureMemory(replicate(allMachines, memoryScale), tasks, memoryTasks);
log(`Heap used after a full GC (node --expose-gc), ${memory.machines} machines (${memoryScale}x) and ${memory.tasks} queued tasks drawn from the trace:`);
log('');
log('| state | heap used |');
log('|---|---|');
log(`| machines added | ${memory.machinesMib.toFixed(1)} MiB |`);
log(`| plus ${memory.tasks} queued tasks | ${memory.totalMib.toFixed(1)} MiB (queue: ${memory.queuedMib.toFixed(1)} MiB) |`);
log(`| after one pass (${memory.placed} placed) | ${memory.afterPassMib.toFixed(1)} MiB |`);
log('');
log(`Whole benchmark: ${((performance.now() - started) / 1000).toFixed(0)} s.`);

if (write) writeSection('docs/benchmarks.md', lines.join('\n'));

function percent(value: number): string {
  return `${(100 * value).toFixed(2)}%`;
}

function rate(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

function micros(value: number): string {
  return `${value.toFixed(1)} µs`;
}

function cpuModel(): string {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (match?.[1] !== undefined) return match[1].trim();
  } catch {
    // Not Linux: fall back to what Node reports.
  }
  return cpus()[0]?.model ?? 'unknown CPU';
}

