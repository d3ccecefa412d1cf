import type { Demand } from './Demand.ts';
import type { MachineClass } from './MachineClass.ts';
import type { StateGroup } from './StateGroup.ts';

/** Resources one placed task occupies on its machine. */
export interface Allocation {
  readonly demand: Demand;
  /** Device indices, ascending. */
  readonly gpuIndices: readonly number[];
  /** Share held on each device in `gpuIndices`, 1..1000. */
  readonly gpuMilli: number;
  /** GPU memory held on each device in `gpuIndices`, MiB. */
  readonly gpuMemoryMib: number;
}

/**
 * Free resources and allocations of one machine. Invariants, kept by
 * `allocate` and `free`: free CPU and memory stay within 0..capacity, each
 * device's used share stays within 0..1000 and its used memory within
 * 0..device memory, and a device held whole (share 1000) has no other holder.
 */
export class MachineState {
  freeCpuMilli: number;
  freeMemoryMib: number;
  /** Used share per device index, 0..1000. */
  readonly gpuUsedMilli: number[];
  /** Used GPU memory per device index, MiB. */
  readonly gpuUsedMemoryMib: number[];
  readonly allocations = new Map<string, Allocation>();
  schedulable = true;
  /** True while a starving task has a reservation on this machine. */
  reserved = false;
  /** True once `removeMachine` dropped it, so late index updates skip it. */
  removed = false;
  /** The index group this machine is in; undefined while unschedulable or reserved. */
  group: StateGroup | undefined;

  constructor(
    readonly id: string,
    readonly machineClass: MachineClass,
  ) {
    this.freeCpuMilli = machineClass.cpuMilli;
    this.freeMemoryMib = machineClass.memoryMib;
    this.gpuUsedMilli = machineClass.gpuModels.map(() => 0);
    this.gpuUsedMemoryMib = machineClass.gpuModels.map(() => 0);
  }

  /** Tests whether an allocation fits the free resources right now. */
  canAllocate(demand: Demand, gpuIndices: readonly number[], gpuMilli: number): boolean {
    if (demand.cpuMilli > this.freeCpuMilli || demand.memoryMib > this.freeMemoryMib) return false;
    const seen = new Set<number>();
    for (const index of gpuIndices) {
      if (!Number.isSafeInteger(index) || index < 0 || index >= this.gpuUsedMilli.length || seen.has(index)) return false;
      seen.add(index);
      const used = this.gpuUsedMilli[index] ?? 0;
      const usedMemory = this.gpuUsedMemoryMib[index] ?? 0;
      const capacityMemory = this.machineClass.gpuMemoryMib[index] ?? 0;
      if (gpuMilli === 1000 && used !== 0) return false;
      if (used + gpuMilli > 1000) return false;
      if (usedMemory + demand.gpuMemoryMib > capacityMemory) return false;
    }
    return true;
  }

  /** Records an allocation; the caller checked `canAllocate`. */
  allocate(demand: Demand, gpuIndices: readonly number[], gpuMilli: number): Allocation {
    const allocation: Allocation = { demand, gpuIndices: [...gpuIndices].sort((a, b) => a - b), gpuMilli, gpuMemoryMib: demand.gpuMemoryMib };
    this.freeCpuMilli -= demand.cpuMilli;
    this.freeMemoryMib -= demand.memoryMib;
    for (const index of allocation.gpuIndices) {
      this.gpuUsedMilli[index] = (this.gpuUsedMilli[index] ?? 0) + gpuMilli;
      this.gpuUsedMemoryMib[index] = (this.gpuUsedMemoryMib[index] ?? 0) + demand.gpuMemoryMib;
    }
    this.allocations.set(demand.taskId, allocation);
    return allocation;
  }

  /** Returns exactly what `allocate` took for this task; undefined if the task is not here. */
  free(taskId: string): Allocation | undefined {
    const allocation = this.allocations.get(taskId);
    if (allocation === undefined) return undefined;
    this.allocations.delete(taskId);
    this.freeCpuMilli += allocation.demand.cpuMilli;
    this.freeMemoryMib += allocation.demand.memoryMib;
    for (const index of allocation.gpuIndices) {
      this.gpuUsedMilli[index] = (this.gpuUsedMilli[index] ?? 0) - allocation.gpuMilli;
      this.gpuUsedMemoryMib[index] = (this.gpuUsedMemoryMib[index] ?? 0) - allocation.gpuMemoryMib;
    }
    return allocation;
  }

  /** Sum of used shares over all devices, in thousandths of a device. */
  usedGpuMilli(): number {
    let total = 0;
    for (const used of this.gpuUsedMilli) total += used;
    return total;
  }
}
