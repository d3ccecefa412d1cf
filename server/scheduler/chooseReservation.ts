import { devicesNeeded, type Demand } from './Demand.ts';
import type { MachineState } from './MachineState.ts';
import { classCanHold } from './planPlacement.ts';
import type { StateGroup } from './StateGroup.ts';

/**
 * Picks the machine a starving task reserves. Among schedulable, unreserved
 * machines whose class can hold the task, it takes the one whose free
 * resources fall least short of it, so the wait is likely shortest. The
 * shortfall is a fraction of the demand, summed over CPU, memory and GPUs. Reserved devices are
 * the allowed devices with the least share in use. Scans every state group,
 * so it runs once per starving task, not per pass.
 */
export function chooseReservation(
  demand: Demand,
  groups: Iterable<StateGroup>,
): { machine: MachineState; gpuIndices: number[] } | undefined {
  let best: StateGroup | undefined;
  let bestShortfall = Number.POSITIVE_INFINITY;
  for (const group of groups) {
    if (group.members.size === 0 || !classCanHold(demand, group.machineClass)) continue;
    const shortfall = shortfallOf(demand, group);
    if (shortfall < bestShortfall || (shortfall === bestShortfall && best !== undefined && group.seq < best.seq)) {
      best = group;
      bestShortfall = shortfall;
    }
  }
  const machine = best?.firstMember();
  if (machine === undefined) return undefined;
  return { machine, gpuIndices: reservedDevices(demand, machine) };
}

/** Returns how far a group's free resources fall short of the demand, 0 when it fits. */
export function shortfallOf(demand: Demand, group: StateGroup): number {
  let shortfall = 0;
  if (demand.cpuMilli > group.freeCpuMilli) shortfall += (demand.cpuMilli - group.freeCpuMilli) / demand.cpuMilli;
  if (demand.memoryMib > group.freeMemoryMib) shortfall += (demand.memoryMib - group.freeMemoryMib) / demand.memoryMib;
  if (demand.gpuCount > 0) {
    let unused = 0;
    for (let position = 0; position < group.deviceCount; position++) {
      if (demand.gpuModels !== undefined && !demand.gpuModels.has(group.modelAt(position))) continue;
      if (group.freeMilli[position] === 1000 && group.memoryMibAt(position) >= demand.gpuMemoryMib) unused++;
    }
    if (unused < demand.gpuCount) shortfall += (demand.gpuCount - unused) / demand.gpuCount;
  } else if (demand.gpuMilli > 0) {
    let bestFree = 0;
    for (let position = 0; position < group.deviceCount; position++) {
      if (demand.gpuModels !== undefined && !demand.gpuModels.has(group.modelAt(position))) continue;
      if (group.freeMemoryMibByDevice[position]! >= demand.gpuMemoryMib) bestFree = Math.max(bestFree, group.freeMilli[position]!);
    }
    if (bestFree < demand.gpuMilli) shortfall += (demand.gpuMilli - bestFree) / demand.gpuMilli;
  }
  return shortfall;
}

function reservedDevices(demand: Demand, machine: MachineState): number[] {
  const machineClass = machine.machineClass;
  const allowed: number[] = [];
  for (let index = 0; index < machineClass.gpuCount; index++) {
    if (demand.gpuModels !== undefined && !demand.gpuModels.has(machineClass.gpuModels[index]!)) continue;
    if (machineClass.gpuMemoryMib[index]! < demand.gpuMemoryMib) continue;
    allowed.push(index);
  }
  allowed.sort((left, right) => machine.gpuUsedMilli[left]! - machine.gpuUsedMilli[right]! || left - right);
  return allowed.slice(0, devicesNeeded(demand)).sort((left, right) => left - right);
}
