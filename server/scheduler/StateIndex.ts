import type { MachineState } from './MachineState.ts';
import { StateGroup, stateKeyOf } from './StateGroup.ts';

/**
 * Schedulable, unreserved machines grouped by (class, free resources). The
 * number of groups stays small next to the fleet (on the OpenB trace a few
 * thousand at most, against 152,300 machines at 100x), so placement cost
 * follows the number of states, not machines.
 *
 * Every group that gains its first member is appended to `activations`.
 * Each `ShapeIndex` reads that log from its own cursor, so it scores each new
 * state once instead of rescanning all groups per placement.
 */
export class StateIndex {
  private readonly groups = new Map<string, StateGroup>();
  private nextSeq = 0;
  /** Groups in the order they gained their first member; read through `ShapeIndex` cursors. */
  readonly activations: StateGroup[] = [];
  /**
   * Copies of each activation's free CPU, memory, unused devices, largest
   * free share and class id, in parallel arrays. Every shape scans the whole
   * log, and reading these sequential arrays instead of scattered group
   * objects keeps the scan out of cache misses.
   */
  readonly activationFreeCpuMilli: number[] = [];
  readonly activationFreeMemoryMib: number[] = [];
  readonly activationUnusedDevices: number[] = [];
  readonly activationMaxFreeMilli: number[] = [];
  readonly activationClassId: number[] = [];
  /**
   * 1 once the group at that position emptied. Most logged groups die
   * before a given shape reads them (each placement on a machine replaces
   * its group), so shapes skip them here without touching the group.
   */
  readonly activationDead: number[] = [];
  /** Incremented when `activations` is cleared; a shape index whose generation differs rebuilds. */
  generation = 0;

  get groupCount(): number {
    return this.groups.size;
  }

  liveGroups(): IterableIterator<StateGroup> {
    return this.groups.values();
  }

  insert(machine: MachineState): void {
    const { key, canonicalOrder } = stateKeyOf(machine);
    let group = this.groups.get(key);
    if (group === undefined) {
      group = new StateGroup(this.nextSeq++, key, machine.machineClass, machine, canonicalOrder);
      this.groups.set(key, group);
      group.activationPosition = this.activations.length;
      this.activations.push(group);
      this.activationDead.push(0);
      this.activationFreeCpuMilli.push(group.freeCpuMilli);
      this.activationFreeMemoryMib.push(group.freeMemoryMib);
      this.activationUnusedDevices.push(group.unusedDevices);
      this.activationMaxFreeMilli.push(group.maxFreeMilli);
      this.activationClassId.push(group.machineClass.id);
      this.compactIfLong();
    }
    group.members.add(machine);
    machine.group = group;
  }

  remove(machine: MachineState): void {
    const group = machine.group;
    if (group === undefined) return;
    group.members.delete(machine);
    machine.group = undefined;
    if (group.members.size === 0) {
      this.groups.delete(group.key);
      if (group.activationPosition >= 0) this.activationDead[group.activationPosition] = 1;
    }
  }

  /**
   * Clears the log once it is much longer than the live group count. Shape
   * indexes then rebuild from `liveGroups()`, which bounds both the log's
   * memory and the dead entries left in their heaps.
   */
  private compactIfLong(): void {
    if (this.activations.length > 16 * this.groups.size + 65_536) {
      for (const group of this.activations) group.activationPosition = -1;
      this.activations.length = 0;
      this.activationDead.length = 0;
      this.activationFreeCpuMilli.length = 0;
      this.activationFreeMemoryMib.length = 0;
      this.activationUnusedDevices.length = 0;
      this.activationMaxFreeMilli.length = 0;
      this.activationClassId.length = 0;
      this.generation++;
    }
  }
}
