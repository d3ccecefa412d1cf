import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TaskSpec, TaskState } from '../gen/machinehub/task/v1/task.js';
import { createMachinehubClient } from '../client/index.js';
import { parseOpenbMachines, parseOpenbTasks, type OpenbTask } from '../server/scheduler/trace/openb.js';
import { FleetSimulator, type SimulatedMachine } from './FleetSimulator.js';
import { percentile } from './percentile.js';

export interface ReplayOptions {
  /** host:port of a running server. */
  address: string;
  /** Folder with the OpenB CSV files. */
  traceDir: string;
  /** The trace's creation times (about 149 days) are compressed into this many seconds. Default 60. */
  windowSeconds?: number;
  /**
   * Factor applied to each task's trace duration (deletion minus scheduled
   * time). Default 0.02, so a median task of about 10 minutes runs 12 s.
   */
  durationScale?: number;
  /** Cap on a task's replayed duration, seconds. Default 40. */
  maxDurationSeconds?: number;
  /** Stop waiting for tasks this long after the last submission. Default 90. */
  maxDrainSeconds?: number;
  /** Receives the live progress line (without a newline) and the summary lines. */
  print: (line: string, live?: boolean) => void;
}

export interface ReplaySummary {
  machines: number;
  gpus: number;
  submitted: number;
  placed: number;
  finished: number;
  queued: number;
  peakGpuAllocationPercent: number;
  peakCpuAllocationPercent: number;
  placementsPerSecond: number;
  peakPlacementsPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  /** Server-side allocation left once every task ended; must be zero. */
  leftoverCpuMilli: number;
  leftoverGpuMilli: number;
  queuedReasons: string[];
  seconds: number;
}

/** Largest SubmitTasks batch the replay sends. */
const BATCH = 1000;
const TICK_MS = 20;

/**
 * Replays the OpenB trace against a server: a simulated agent per trace
 * machine, tasks submitted in creation_time order with creation times
 * compressed into the window and durations scaled down, and a running tally
 * of what the fleet does. Durations get their own factor because the window's
 * factor (about 5e-6) would shrink nearly every task to under a millisecond
 * and leave the fleet idle.
 */
export async function replayOpenb(options: ReplayOptions): Promise<ReplaySummary> {
  const windowSeconds = options.windowSeconds ?? 60;
  const machines = parseOpenbMachines(readFileSync(join(options.traceDir, 'openb_node_list_all_node.csv'), 'utf8'));
  const tasks = parseOpenbTasks(readFileSync(join(options.traceDir, 'openb_pod_list_default.csv'), 'utf8'));
  tasks.sort((a, b) => a.creationTime - b.creationTime);
  const span = Math.max(1, (tasks.at(-1)?.creationTime ?? 1) - (tasks[0]?.creationTime ?? 0));
  const scale = windowSeconds / span;
  const durationScale = options.durationScale ?? 0.02;
  const maxDuration = options.maxDurationSeconds ?? 40;

  const capacity = { cpu: 0, gpu: 0 };
  const simulated: SimulatedMachine[] = machines.map((machine) => {
    capacity.cpu += machine.cpuMilli;
    capacity.gpu += machine.gpus.length * 1000;
    return { id: machine.id, capacity: { cpuMilli: machine.cpuMilli, memoryMib: machine.memoryMib, gpus: machine.gpus } };
  });

  const runId = randomBytes(3).toString('hex');
  const demandById = new Map<string, OpenbTask>();
  const submittedAt = new Map<string, number>();
  const latencies: number[] = [];
  const placementTimes: number[] = [];
  const live = { running: 0, finished: 0, cpu: 0, gpu: 0, peakCpu: 0, peakGpu: 0 };
  const held = (task: OpenbTask) => ({ cpu: task.cpuMilli, gpu: task.gpuCount > 0 ? task.gpuCount * 1000 : task.gpuMilli });

  const simulator = new FleetSimulator(options.address, {
    onRunning(taskId, _machineId, atMs) {
      const task = demandById.get(taskId);
      const sent = submittedAt.get(taskId);
      if (!task || sent === undefined) return;
      latencies.push(atMs - sent);
      placementTimes.push(atMs);
      live.running += 1;
      live.cpu += held(task).cpu;
      live.gpu += held(task).gpu;
      live.peakCpu = Math.max(live.peakCpu, live.cpu);
      live.peakGpu = Math.max(live.peakGpu, live.gpu);
    },
    onFinished(taskId) {
      const task = demandById.get(taskId);
      if (!task) return;
      live.running -= 1;
      live.finished += 1;
      live.cpu -= held(task).cpu;
      live.gpu -= held(task).gpu;
    },
  });

  const client = createMachinehubClient(options.address);
  const started = performance.now();
  options.print(`connecting ${machines.length} simulated agents...`, true);
  await simulator.start(simulated);
  options.print(`${machines.length} agents connected in ${((performance.now() - started) / 1000).toFixed(1)}s`);

  const progress = () => {
    const elapsed = (performance.now() - replayStart) / 1000;
    const recent = placementTimes.filter((t) => t > performance.now() - 1000).length;
    options.print(
      `t=${elapsed.toFixed(0).padStart(3)}s submitted ${submittedAt.size}/${tasks.length} ` +
        `placed ${placementTimes.length} running ${live.running} finished ${live.finished} ` +
        `GPU ${pct(live.gpu, capacity.gpu)} CPU ${pct(live.cpu, capacity.cpu)} ${recent} placements/s`,
      true,
    );
  };
  const replayStart = performance.now();
  const ticker = setInterval(progress, 1000);

  try {
    let next = 0;
    while (next < tasks.length) {
      const elapsedSeconds = (performance.now() - replayStart) / 1000;
      const batch: TaskSpec[] = [];
      while (next < tasks.length && batch.length < BATCH) {
        const task = tasks[next] as OpenbTask;
        if ((task.creationTime - (tasks[0]?.creationTime ?? 0)) * scale > elapsedSeconds) break;
        const id = `${runId}-${task.id}`;
        demandById.set(id, task);
        batch.push(toSpec(id, task, Math.min(maxDuration, task.durationSec * durationScale)));
        next += 1;
      }
      if (batch.length > 0) {
        const sentAt = performance.now();
        for (const spec of batch) submittedAt.set(spec.id, sentAt);
        await client.tasks.submitTasks({ tasks: batch });
      } else {
        await sleep(TICK_MS);
      }
    }

    // Wait until nothing runs; tasks still queued then fit nowhere on the fleet.
    const drainDeadline = performance.now() + (options.maxDrainSeconds ?? 90) * 1000;
    while (performance.now() < drainDeadline) {
      await sleep(250);
      if (live.running === 0 && live.finished + (await countQueued(client)) >= tasks.length) break;
    }
  } finally {
    clearInterval(ticker);
  }
  progress();
  options.print('');

  const queuedTasks = await client.tasks.listTasks({ state: TaskState.TASK_STATE_QUEUED, pageSize: 10_000, pageToken: '' });
  const queuedReasons = [...new Set(queuedTasks.tasks.map((task) => task.reason))].slice(0, 3);
  const machinesNow = await client.machines.listMachines({ statuses: [], pageSize: 10_000, pageToken: '' });
  let leftoverCpuMilli = 0;
  let leftoverGpuMilli = 0;
  for (const machine of machinesNow.machines) {
    if (!machine.id.startsWith('openb-')) continue;
    leftoverCpuMilli += machine.allocated?.cpuMilli ?? 0;
    for (const gpu of machine.allocated?.gpus ?? []) leftoverGpuMilli += gpu.milli;
  }
  for (const task of queuedTasks.tasks) if (task.id.startsWith(runId)) await client.tasks.cancelTask({ id: task.id });
  await simulator.stop();
  client.close();

  const first = placementTimes.length > 0 ? Math.min(...placementTimes) : 0;
  const last = placementTimes.length > 0 ? Math.max(...placementTimes) : 0;
  latencies.sort((a, b) => a - b);
  return {
    machines: machines.length,
    gpus: capacity.gpu / 1000,
    submitted: submittedAt.size,
    placed: placementTimes.length,
    finished: live.finished,
    queued: queuedTasks.tasks.filter((task) => task.id.startsWith(runId)).length,
    peakGpuAllocationPercent: (100 * live.peakGpu) / capacity.gpu,
    peakCpuAllocationPercent: (100 * live.peakCpu) / capacity.cpu,
    placementsPerSecond: placementTimes.length / Math.max(0.001, (last - first) / 1000),
    peakPlacementsPerSecond: peakPerSecond(placementTimes),
    latencyP50Ms: percentile(latencies, 0.5),
    latencyP99Ms: percentile(latencies, 0.99),
    leftoverCpuMilli,
    leftoverGpuMilli,
    queuedReasons,
    seconds: (performance.now() - replayStart) / 1000,
  };
}

function toSpec(id: string, task: OpenbTask, seconds: number): TaskSpec {
  return {
    ...TaskSpec.fromJSON({}),
    id,
    name: task.id,
    resources: {
      cpuMilli: task.cpuMilli,
      memoryMib: task.memoryMib,
      gpuCount: task.gpuCount,
      gpuMilli: task.gpuMilli,
      gpuMemoryMib: task.gpuMemoryMib,
      gpuModels: task.gpuModels,
    },
    command: 'sleep',
    args: [seconds.toFixed(3)],
  };
}

async function countQueued(client: ReturnType<typeof createMachinehubClient>): Promise<number> {
  const page = await client.tasks.listTasks({ state: TaskState.TASK_STATE_QUEUED, pageSize: 10_000, pageToken: '' });
  return page.tasks.length;
}

/** Maximum placements in any one-second window. */
function peakPerSecond(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while ((sorted[end] as number) - (sorted[start] as number) > 1000) start += 1;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

function pct(part: number, whole: number): string {
  return `${((100 * part) / Math.max(1, whole)).toFixed(1)}%`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
