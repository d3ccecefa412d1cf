/**
 * Scheduler core: decides which machine and which GPU devices each queued
 * task gets. Pure data structures with no I/O, gRPC or logging, so it is
 * tested and benchmarked alone; it imports only its own files and Node
 * built-ins. The server owns persistence, agents and retries.
 */
export { Scheduler } from './Scheduler.ts';
export { SchedulerError, type SchedulerErrorCode } from './SchedulerError.ts';
export { validateDemand } from './validateDemand.ts';
export { validateMachineSpec } from './validateMachineSpec.ts';
export { POLICY_NAMES } from './types.ts';
export type {
  Constraint,
  ConstraintOp,
  GpuDevice,
  MachineAllocation,
  MachineSpec,
  Placement,
  PolicyName,
  SchedulerOptions,
  SchedulerStats,
  TaskDemand,
} from './types.ts';
export { parseOpenbMachines, parseOpenbTasks, OPENB_GPU_MEMORY_MIB, type OpenbTask } from './trace/openb.ts';
