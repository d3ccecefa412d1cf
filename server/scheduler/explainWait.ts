import type { Demand } from './Demand.ts';
import type { MachineClass } from './MachineClass.ts';
import { classCanHold } from './planPlacement.ts';
import { describeConstraint, matchesConstraints } from './matchesConstraints.ts';
import type { Reservation } from './Reservation.ts';
import { shortfallOf } from './chooseReservation.ts';
import type { StateGroup } from './StateGroup.ts';

export interface WaitContext {
  readonly demand: Demand;
  /** Every machine class ever added; classes with `machineCount` 0 are skipped. */
  readonly classes: Iterable<MachineClass>;
  /** Schedulable, unreserved machines by state. */
  readonly groups: Iterable<StateGroup>;
  readonly reservations: Iterable<Reservation>;
  readonly ownReservation: Reservation | undefined;
  readonly schedulableMachines: number;
}

/**
 * Builds the operator-readable reason a queued task waits. Runs only when
 * asked (it scans every class and state group), never during `schedule()`.
 */
export function explainWait(context: WaitContext): string {
  const { demand } = context;
  const classes = [...context.classes].filter((machineClass) => machineClass.machineCount > 0);
  if (classes.length === 0) return 'no machines in the fleet; unschedulable on the current fleet';

  const capable = classes.filter((machineClass) => classCanHold(demand, machineClass));
  if (capable.length === 0) return `${explainNoCapacity(demand, classes)}; unschedulable on the current fleet`;

  const own = context.ownReservation;
  if (own !== undefined) {
    return `waiting for reserved machine ${own.machine.id} to free ${describeDemand(demand)}; reserved because the task waited over its reservation limit`;
  }

  const capableSet = new Set(capable);
  let best: StateGroup | undefined;
  let bestShortfall = Number.POSITIVE_INFINITY;
  for (const group of context.groups) {
    if (!capableSet.has(group.machineClass)) continue;
    const shortfall = shortfallOf(demand, group);
    if (shortfall < bestShortfall) {
      best = group;
      bestShortfall = shortfall;
    }
  }

  if (best === undefined) {
    const reserved = [...context.reservations].filter((reservation) => capableSet.has(reservation.machine.machineClass));
    if (reserved.length > 0) {
      const names = reserved.slice(0, 3).map((reservation) => `${reservation.machine.id} for task ${reservation.demand.taskId}`);
      return `every machine that could hold it is unschedulable or reserved for a starving task (${names.join(', ')})`;
    }
    return `every machine that could hold it is unschedulable (agent disconnected or draining); ${context.schedulableMachines} machines are schedulable`;
  }

  const machineId = best.firstMember()?.id ?? '?';
  if (bestShortfall === 0) {
    return `fits on ${machineId} now; waiting for the next scheduling pass`;
  }
  return explainShortfall(demand, best, machineId);
}

function explainNoCapacity(demand: Demand, classes: readonly MachineClass[]): string {
  const matching = classes.filter((machineClass) => matchesConstraints(machineClass.labels, demand.constraints));
  if (matching.length === 0) {
    return `no machine matches constraints ${demand.constraints.map(describeConstraint).join(' and ')}`;
  }

  const maxCpu = Math.max(...matching.map((machineClass) => machineClass.cpuMilli));
  if (demand.cpuMilli > maxCpu) return `needs ${demand.cpuMilli}m CPU, largest machine has ${maxCpu}m`;
  const maxMemory = Math.max(...matching.map((machineClass) => machineClass.memoryMib));
  if (demand.memoryMib > maxMemory) return `needs ${demand.memoryMib} MiB memory, largest machine has ${maxMemory} MiB`;

  const gpusWanted = Math.max(demand.gpuCount, 1);
  if (demand.gpuModels !== undefined) {
    const models = [...demand.gpuModels].join('|');
    const withModel = matching.some((machineClass) => machineClass.gpuModels.some((model) => demand.gpuModels!.has(model)));
    if (!withModel) return `needs GPU model ${models}, no machine has one`;
  }
  const maxDeviceMemory = Math.max(0, ...matching.flatMap((machineClass) => allowedDevices(demand, machineClass, 0)));
  if (demand.gpuMemoryMib > maxDeviceMemory) {
    return `needs ${demand.gpuMemoryMib} MiB memory per GPU, largest GPU has ${maxDeviceMemory} MiB`;
  }
  const maxDevices = Math.max(...matching.map((machineClass) => allowedDevices(demand, machineClass, demand.gpuMemoryMib).length));
  if (gpusWanted > maxDevices) {
    return `needs ${gpus(gpusWanted)}${describeGpuQualifier(demand)}, largest machine has ${maxDevices}`;
  }
  return `no single machine has all of ${describeDemand(demand)} with matching labels`;
}

function explainShortfall(demand: Demand, group: StateGroup, machineId: string): string {
  const qualifier = describeGpuQualifier(demand);
  if (demand.gpuCount > 0) {
    let unused = 0;
    for (let position = 0; position < group.deviceCount; position++) {
      if (demand.gpuModels !== undefined && !demand.gpuModels.has(group.modelAt(position))) continue;
      if (group.freeMilli[position] === 1000 && group.memoryMibAt(position) >= demand.gpuMemoryMib) unused++;
    }
    if (unused < demand.gpuCount) {
      return `no machine has ${demand.gpuCount} free ${demand.gpuCount === 1 ? 'GPU' : 'GPUs'}${qualifier}; best candidate ${machineId} has ${unused} free`;
    }
  } else if (demand.gpuMilli > 0) {
    let bestFree = 0;
    for (let position = 0; position < group.deviceCount; position++) {
      if (demand.gpuModels !== undefined && !demand.gpuModels.has(group.modelAt(position))) continue;
      if (group.freeMemoryMibByDevice[position]! >= demand.gpuMemoryMib) bestFree = Math.max(bestFree, group.freeMilli[position]!);
    }
    if (bestFree < demand.gpuMilli) {
      return `no machine has a GPU with ${demand.gpuMilli}/1000 free${qualifier}; best candidate ${machineId} has at most ${bestFree}/1000 free`;
    }
  }
  if (demand.cpuMilli > group.freeCpuMilli) {
    return `no machine has ${demand.cpuMilli}m CPU free; best candidate ${machineId} has ${group.freeCpuMilli}m free`;
  }
  return `no machine has ${demand.memoryMib} MiB memory free; best candidate ${machineId} has ${group.freeMemoryMib} MiB free`;
}

function allowedDevices(demand: Demand, machineClass: MachineClass, minimumMemoryMib: number): number[] {
  const memories: number[] = [];
  for (let index = 0; index < machineClass.gpuCount; index++) {
    if (demand.gpuModels !== undefined && !demand.gpuModels.has(machineClass.gpuModels[index]!)) continue;
    const memory = machineClass.gpuMemoryMib[index]!;
    if (memory >= minimumMemoryMib) memories.push(memory);
  }
  return memories;
}

/** Formats the per-GPU conditions, e.g. " of model A10 with 24576 MiB each". */
function describeGpuQualifier(demand: Demand): string {
  let qualifier = '';
  if (demand.gpuModels !== undefined) qualifier += ` of model ${[...demand.gpuModels].join('|')}`;
  if (demand.gpuMemoryMib > 0) qualifier += ` with ${demand.gpuMemoryMib} MiB ${demand.gpuCount > 1 ? 'each' : 'free'}`;
  return qualifier;
}

/** Formats a GPU count with its noun, e.g. "1 GPU" or "2 GPUs". */
function gpus(count: number): string {
  return count === 1 ? '1 GPU' : `${count} GPUs`;
}

function describeDemand(demand: Demand): string {
  const parts = [`${demand.cpuMilli}m CPU`, `${demand.memoryMib} MiB memory`];
  if (demand.gpuCount > 0) parts.push(`${gpus(demand.gpuCount)}${describeGpuQualifier(demand)}`);
  else if (demand.gpuMilli > 0) parts.push(`a ${demand.gpuMilli}/1000 GPU share${describeGpuQualifier(demand)}`);
  return parts.join(', ');
}
