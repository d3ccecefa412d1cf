import type { Demand } from './Demand.ts';
import type { MachineState } from './MachineState.ts';

/**
 * A machine held for a task that waited too long (starvation guard).
 *
 * The rule: tasks placed on the machine after the reservation was made
 * ("admitted" tasks) may not use the reserved devices, and their CPU and
 * memory plus the reserved task's must fit the machine's capacity. So once
 * the tasks that were running when the reservation was made end, the
 * reserved task fits, whatever admitted tasks still run. Admitted tasks are
 * only placed there when no unreserved machine fits them.
 */
export class Reservation {
  /** Admitted task ids with what they took, so release can subtract it exactly. */
  private readonly admitted = new Map<string, Demand>();
  private admittedCpuMilli = 0;
  private admittedMemoryMib = 0;

  constructor(
    readonly demand: Demand,
    readonly machine: MachineState,
    /** Devices kept for the reserved task, ascending. */
    readonly gpuIndices: readonly number[],
    /** Clock time the reservation was made, ms. */
    readonly since: number,
  ) {}

  /** Tests whether another task may take these devices and resources now without delaying the reserved task. */
  admits(demand: Demand, gpuIndices: readonly number[]): boolean {
    for (const index of gpuIndices) if (this.gpuIndices.includes(index)) return false;
    const machineClass = this.machine.machineClass;
    if (this.admittedCpuMilli + demand.cpuMilli + this.demand.cpuMilli > machineClass.cpuMilli) return false;
    if (this.admittedMemoryMib + demand.memoryMib + this.demand.memoryMib > machineClass.memoryMib) return false;
    return true;
  }

  admit(demand: Demand): void {
    this.admitted.set(demand.taskId, demand);
    this.admittedCpuMilli += demand.cpuMilli;
    this.admittedMemoryMib += demand.memoryMib;
  }

  /** Forgets an admitted task that ended; a no-op for other tasks. */
  forget(taskId: string): void {
    const demand = this.admitted.get(taskId);
    if (demand === undefined) return;
    this.admitted.delete(taskId);
    this.admittedCpuMilli -= demand.cpuMilli;
    this.admittedMemoryMib -= demand.memoryMib;
  }
}

/**
 * Chooses devices for a demand directly on one machine (used for reserved
 * machines, which are outside the state index), skipping `excluded`
 * devices. Whole-GPU tasks take the lowest unused allowed devices; share
 * tasks take the allowed device with the least free share that fits.
 * Returns undefined when the machine cannot hold the demand now.
 */
export function planOnMachine(demand: Demand, machine: MachineState, excluded: readonly number[] = []): number[] | undefined {
  if (demand.cpuMilli > machine.freeCpuMilli || demand.memoryMib > machine.freeMemoryMib) return undefined;
  const machineClass = machine.machineClass;
  const chosen: number[] = [];
  let bestShareFree = Number.POSITIVE_INFINITY;
  for (let index = 0; index < machineClass.gpuCount; index++) {
    if (excluded.includes(index)) continue;
    if (demand.gpuModels !== undefined && !demand.gpuModels.has(machineClass.gpuModels[index]!)) continue;
    const used = machine.gpuUsedMilli[index]!;
    const freeMemory = machineClass.gpuMemoryMib[index]! - machine.gpuUsedMemoryMib[index]!;
    if (demand.gpuCount > 0) {
      if (used === 0 && freeMemory >= demand.gpuMemoryMib && chosen.length < demand.gpuCount) chosen.push(index);
    } else if (demand.gpuMilli > 0) {
      const free = 1000 - used;
      if (free >= demand.gpuMilli && freeMemory >= demand.gpuMemoryMib && free < bestShareFree) {
        bestShareFree = free;
        chosen[0] = index;
      }
    }
  }
  if (demand.gpuCount > 0 && chosen.length < demand.gpuCount) return undefined;
  if (demand.gpuMilli > 0 && chosen.length === 0) return undefined;
  return chosen;
}
