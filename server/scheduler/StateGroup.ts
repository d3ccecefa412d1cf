import type { MachineClass } from './MachineClass.ts';
import type { MachineState } from './MachineState.ts';

/**
 * The schedulable machines of one class whose free resources are equal.
 * The state is immutable: a machine whose allocation changes moves to
 * another group, so a score computed for a group stays valid while the
 * group has members. Devices are listed by "position" in a canonical order
 * (kind, then used share, then used memory), so machines whose devices are
 * used alike but at different indices share the group.
 */
export class StateGroup {
  readonly freeCpuMilli: number;
  readonly freeMemoryMib: number;
  /**
   * Device index behind each position on the machine that created the
   * group. Only used to look up class data (model, memory, kind), which is
   * equal for every member because positions are sorted by kind first.
   */
  readonly deviceIndex: readonly number[];
  /** Free share per position, 0..1000. */
  readonly freeMilli: readonly number[];
  /** Free GPU memory per position, MiB. */
  readonly freeMemoryMibByDevice: readonly number[];
  /** Sum of free shares over all devices. */
  readonly freeGpuMilli: number;
  /** Devices with nothing allocated, of any model. */
  readonly unusedDevices: number;
  /** Largest free share on one device, of any model. */
  readonly maxFreeMilli: number;
  /** Machines in this state. A group is dropped from the index when this empties, and never refilled. */
  readonly members = new Set<MachineState>();
  /** Position in the index's activation log, or -1 once the log was compacted past it. */
  activationPosition = -1;
  /** Expected fragmentation of this state, valid while `fragmentationVersion` matches the model. */
  fragmentation = 0;
  fragmentationVersion = -1;

  constructor(
    /** Creation order; breaks score ties so placement is deterministic. */
    readonly seq: number,
    readonly key: string,
    readonly machineClass: MachineClass,
    machine: MachineState,
    canonicalOrder: readonly number[],
  ) {
    this.freeCpuMilli = machine.freeCpuMilli;
    this.freeMemoryMib = machine.freeMemoryMib;
    const count = canonicalOrder.length;
    const freeMilliByPosition: number[] = [];
    const freeMemoryByPosition: number[] = [];
    let freeGpuMilli = 0;
    let unusedDevices = 0;
    let maxFreeMilli = 0;
    for (let position = 0; position < count; position++) {
      const index = canonicalOrder[position]!;
      const freeMilli = 1000 - machine.gpuUsedMilli[index]!;
      freeMilliByPosition.push(freeMilli);
      freeMemoryByPosition.push(machineClass.gpuMemoryMib[index]! - machine.gpuUsedMemoryMib[index]!);
      freeGpuMilli += freeMilli;
      if (freeMilli === 1000) unusedDevices++;
      if (freeMilli > maxFreeMilli) maxFreeMilli = freeMilli;
    }
    this.deviceIndex = canonicalOrder;
    this.freeMilli = freeMilliByPosition;
    this.freeMemoryMibByDevice = freeMemoryByPosition;
    this.freeGpuMilli = freeGpuMilli;
    this.unusedDevices = unusedDevices;
    this.maxFreeMilli = maxFreeMilli;
  }

  get deviceCount(): number {
    return this.deviceIndex.length;
  }

  modelAt(position: number): string {
    return this.machineClass.gpuModels[this.deviceIndex[position]!]!;
  }

  memoryMibAt(position: number): number {
    return this.machineClass.gpuMemoryMib[this.deviceIndex[position]!]!;
  }

  kindAt(position: number): number {
    return this.machineClass.deviceKinds[this.deviceIndex[position]!]!;
  }

  /**
   * Maps device positions of this group to device indices on one of its
   * members. Positions name device states, not indices, so the member's
   * devices are matched by kind and free share and memory.
   */
  deviceIndicesOn(machine: MachineState, positions: readonly number[]): number[] {
    const machineClass = machine.machineClass;
    const taken: number[] = [];
    for (const position of positions) {
      const kind = this.kindAt(position);
      for (let index = 0; index < machineClass.gpuCount; index++) {
        if (taken.includes(index)) continue;
        if (machineClass.deviceKinds[index] !== kind) continue;
        if (1000 - machine.gpuUsedMilli[index]! !== this.freeMilli[position]) continue;
        if (machineClass.gpuMemoryMib[index]! - machine.gpuUsedMemoryMib[index]! !== this.freeMemoryMibByDevice[position]) continue;
        taken.push(index);
        break;
      }
    }
    if (taken.length !== positions.length) {
      throw new Error(`state group ${this.key} does not match machine ${machine.id}; the index is corrupt`);
    }
    return taken;
  }

  /** Any member; groups in the index always have one. */
  firstMember(): MachineState | undefined {
    for (const machine of this.members) return machine;
    return undefined;
  }
}

/**
 * Orders a machine's device indices canonically and builds its state key.
 * Kept beside `StateGroup` because both must agree on the order.
 */
export function stateKeyOf(machine: MachineState): { key: string; canonicalOrder: number[] } {
  const machineClass = machine.machineClass;
  const kinds = machineClass.deviceKinds;
  const usedMilli = machine.gpuUsedMilli;
  const usedMemory = machine.gpuUsedMemoryMib;
  // Insertion sort: machines have few devices, and this runs on every placement.
  const order: number[] = [];
  for (let index = 0; index < kinds.length; index++) {
    let slot = order.length;
    order.push(index);
    while (slot > 0) {
      const previous = order[slot - 1]!;
      const comparison =
        kinds[previous]! - kinds[index]! || usedMilli[previous]! - usedMilli[index]! || usedMemory[previous]! - usedMemory[index]!;
      // Equal states keep index order, because `index` only grows.
      if (comparison <= 0) break;
      order[slot] = previous;
      slot--;
    }
    order[slot] = index;
  }

  let key = `${machineClass.id}/${machine.freeCpuMilli}/${machine.freeMemoryMib}/`;
  for (const index of order) {
    key += `${kinds[index]}.${usedMilli[index]}.${usedMemory[index]},`;
  }
  return { key, canonicalOrder: order };
}
