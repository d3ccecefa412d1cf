import type { Demand } from './Demand.ts';
import type { FragmentationModel } from './FragmentationModel.ts';
import { MinHeap } from './MinHeap.ts';
import { type Candidate, classCanHold, compareCandidates, planPlacement } from './planPlacement.ts';
import type { StateGroup } from './StateGroup.ts';
import type { StateIndex } from './StateIndex.ts';

/**
 * Best placements for one task shape (all tasks with the same `shapeKey`),
 * kept in a heap of scored state groups. A group's state never changes, so
 * its score stays valid until the group empties; empty groups are popped
 * lazily when they reach the top. New groups come from the index's
 * activation log, so a (shape, group) pair is scored again only after the
 * index compacts its log or the fgd weights change.
 */
export class ShapeIndex {
  private readonly heap = new MinHeap<Candidate>(compareCandidates);
  /** Per class id: 1 when the class can hold the shape, 0 when not, undefined until checked. */
  private readonly classFit: Array<number | undefined> = [];
  private cursor = 0;
  private generation = -1;
  private fragmentationVersion = -1;
  /** Capacity epoch of the last pass in which this shape found no machine; see `Scheduler`. */
  failedEpoch = -1;
  /** Capacity epoch of the last failed search for a machine to reserve. */
  reservationSearchFailedEpoch = -1;
  /** Queued tasks of this shape; the scheduler drops idle shapes beyond a bound. */
  queuedCount = 0;

  constructor(readonly demand: Demand) {}

  /** Returns the best candidate on the current index, or undefined when no group fits. */
  best(index: StateIndex, fragmentation: FragmentationModel): Candidate | undefined {
    const scoresStale = this.demand.policy === 'fgd' && this.fragmentationVersion !== fragmentation.version;
    if (this.generation !== index.generation || scoresStale) {
      this.heap.clear();
      for (const group of index.liveGroups()) this.consider(group, fragmentation);
      this.cursor = index.activations.length;
      this.generation = index.generation;
      this.fragmentationVersion = fragmentation.version;
    } else {
      this.scanActivations(index, fragmentation);
    }

    for (;;) {
      const top = this.heap.peek();
      if (top === undefined || top.group.members.size > 0) return top;
      this.heap.pop();
    }
  }

  /** Considers the groups activated since the last call, rejecting most from the index's parallel arrays. */
  private scanActivations(index: StateIndex, fragmentation: FragmentationModel): void {
    const demand = this.demand;
    const freeCpu = index.activationFreeCpuMilli;
    const freeMemory = index.activationFreeMemoryMib;
    const unusedDevices = index.activationUnusedDevices;
    const maxFreeMilli = index.activationMaxFreeMilli;
    const classIds = index.activationClassId;
    const dead = index.activationDead;
    const end = index.activations.length;
    for (let position = this.cursor; position < end; position++) {
      if (dead[position] === 1) continue;
      if (demand.cpuMilli > freeCpu[position]! || demand.memoryMib > freeMemory[position]!) continue;
      if (demand.gpuCount > unusedDevices[position]! || demand.gpuMilli > maxFreeMilli[position]!) continue;
      if (this.classFit[classIds[position]!] === 0) continue;
      this.consider(index.activations[position]!, fragmentation);
    }
    this.cursor = end;
  }

  private consider(group: StateGroup, fragmentation: FragmentationModel): void {
    // Most new groups are too full for a given shape; these checks reject them before any scoring.
    const demand = this.demand;
    if (demand.cpuMilli > group.freeCpuMilli || demand.memoryMib > group.freeMemoryMib) return;
    if (demand.gpuCount > group.unusedDevices || demand.gpuMilli > group.maxFreeMilli) return;
    if (group.members.size === 0) return;
    const classId = group.machineClass.id;
    let fits = this.classFit[classId];
    if (fits === undefined) {
      fits = classCanHold(this.demand, group.machineClass) ? 1 : 0;
      this.classFit[classId] = fits;
    }
    if (fits === 0) return;
    const candidate = planPlacement(this.demand, group, this.demand.policy, fragmentation);
    if (candidate !== undefined) this.heap.push(candidate);
  }
}
