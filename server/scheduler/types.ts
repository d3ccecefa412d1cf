/**
 * Public data types of the scheduler core. Units are integers throughout:
 * CPU in millicores, memory in MiB, GPU shares in thousandths of one device
 * and GPU memory in MiB per device, so resource sums never drift.
 */

/**
 * Placement policy. `binpack` fills the fullest machine that fits, `spread`
 * the emptiest, and `fgd` picks the machine whose expected GPU fragmentation
 * grows least (Fragmentation Gradient Descent, Weng et al., USENIX ATC 2023).
 */
export type PolicyName = 'binpack' | 'spread' | 'fgd';

/** The policy names accepted in `TaskDemand.policy` and `SchedulerOptions.defaultPolicy`. */
export const POLICY_NAMES: readonly PolicyName[] = ['binpack', 'spread', 'fgd'];

/** One GPU of a machine, addressed by its device index. */
export interface GpuDevice {
  index: number;
  model: string;
  memoryMib: number;
}

/** Allocatable capacity and labels of one machine. */
export interface MachineSpec {
  id: string;
  cpuMilli: number;
  memoryMib: number;
  gpus: GpuDevice[];
  labels: Record<string, string>;
}

export type ConstraintOp = 'equals' | 'in' | 'not_in' | 'exists' | 'not_exists';

/** A condition on one machine label. `equals` compares with `values[0]`. */
export interface Constraint {
  key: string;
  op: ConstraintOp;
  values: string[];
}

/** Resources and placement rules of one task. */
export interface TaskDemand {
  id: string;
  /** Higher runs first; tasks of equal priority run in enqueue order. */
  priority: number;
  cpuMilli: number;
  memoryMib: number;
  /** Whole devices; 0 when the task needs none or shares one device. */
  gpuCount: number;
  /** Share of one device in thousandths (1..1000) when `gpuCount` is 0; 0 for no share. 1000 counts as one whole device. */
  gpuMilli: number;
  /** Memory needed on each device it uses (each whole device, or the shared one); 0 for no requirement. */
  gpuMemoryMib: number;
  /** Allowed GPU models; empty allows any. */
  gpuModels: string[];
  constraints: Constraint[];
  /** Overrides the scheduler's default policy for this task. */
  policy?: PolicyName;
}

/** Machine and devices a task was placed on, with the share it occupies. */
export interface Placement {
  taskId: string;
  machineId: string;
  /** Device indices the task holds, ascending; empty for CPU-only tasks. */
  gpuIndices: number[];
  /** Share held on each device in `gpuIndices`: 1000 for whole devices, 0 without GPUs. */
  gpuMilli: number;
}

export interface SchedulerOptions {
  /** Policy for tasks without their own; default `fgd`, which packs best on the OpenB trace. */
  defaultPolicy?: PolicyName;
  /** Wait in ms after which a queued task reserves a machine; default 30000. */
  reserveAfterMs?: number;
  /** Maximum number of machines reserved at once, so starving tasks cannot lock the fleet; default 64. */
  maxReservations?: number;
  /** Clock in ms, injectable for tests; default `Date.now`. */
  now?: () => number;
}

/** Resources allocated on one machine, in the units of `MachineSpec`. */
export interface MachineAllocation {
  cpuMilli: number;
  memoryMib: number;
  /** Share held per device index, 0..1000. */
  gpuMilli: number[];
  /** GPU memory held per device index. */
  gpuMemoryMib: number[];
}

/** Fleet totals returned by `Scheduler.stats()`. */
export interface SchedulerStats {
  machines: number;
  schedulableMachines: number;
  reservedMachines: number;
  queued: number;
  placed: number;
  cpuMilliAllocated: number;
  cpuMilliCapacity: number;
  memoryMibAllocated: number;
  memoryMibCapacity: number;
  gpuMilliAllocated: number;
  gpuMilliCapacity: number;
  /** Distinct (machine class, free resources) states in the placement index. */
  stateGroups: number;
}
