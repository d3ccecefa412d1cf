import type { MachineSpec, Placement, TaskDemand } from '../../server/scheduler/index.ts';

/**
 * Baseline for the benchmark: scans every machine in insertion order for
 * each task, with no index. `first-fit` takes the first machine that fits;
 * `random` takes a uniformly random one among all that fit (the random
 * policy of the fragmentation study). Ignores constraints and GPU models,
 * which the OpenB default trace does not use.
 */
export class NaiveScheduler {
  private readonly machines: NaiveMachine[] = [];

  constructor(
    private readonly mode: 'first-fit' | 'random',
    private readonly random: () => number = Math.random,
  ) {}

  addMachine(spec: MachineSpec): void {
    this.machines.push({
      id: spec.id,
      freeCpuMilli: spec.cpuMilli,
      freeMemoryMib: spec.memoryMib,
      gpuUsedMilli: spec.gpus.map(() => 0),
    });
  }

  /** Places one task or returns undefined when no machine fits. */
  place(task: TaskDemand): Placement | undefined {
    const whole = task.gpuCount > 0 || task.gpuMilli === 1000;
    const count = whole ? Math.max(task.gpuCount, 1) : task.gpuMilli > 0 ? 1 : 0;
    const share = whole ? 1000 : task.gpuMilli;

    let chosen: NaiveMachine | undefined;
    let fitting = 0;
    for (const machine of this.machines) {
      if (!fits(machine, task, count, share)) continue;
      if (this.mode === 'first-fit') {
        chosen = machine;
        break;
      }
      // Reservoir sampling picks uniformly among fitting machines in one scan.
      fitting++;
      if (this.random() * fitting < 1) chosen = machine;
    }
    if (chosen === undefined) return undefined;

    const devices: number[] = [];
    for (let index = 0; index < chosen.gpuUsedMilli.length && devices.length < count; index++) {
      if (chosen.gpuUsedMilli[index]! + share <= 1000) devices.push(index);
    }
    chosen.freeCpuMilli -= task.cpuMilli;
    chosen.freeMemoryMib -= task.memoryMib;
    for (const index of devices) chosen.gpuUsedMilli[index]! += share;
    return { taskId: task.id, machineId: chosen.id, gpuIndices: devices, gpuMilli: share };
  }

  usedGpuMilli(): number {
    let total = 0;
    for (const machine of this.machines) for (const used of machine.gpuUsedMilli) total += used;
    return total;
  }
}

interface NaiveMachine {
  id: string;
  freeCpuMilli: number;
  freeMemoryMib: number;
  gpuUsedMilli: number[];
}

function fits(machine: NaiveMachine, task: TaskDemand, count: number, share: number): boolean {
  if (task.cpuMilli > machine.freeCpuMilli || task.memoryMib > machine.freeMemoryMib) return false;
  if (count === 0) return true;
  let devices = 0;
  for (const used of machine.gpuUsedMilli) {
    if (used + share <= 1000) devices++;
  }
  return devices >= count;
}
