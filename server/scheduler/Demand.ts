import type { Constraint, PolicyName, TaskDemand } from './types.ts';

/**
 * A validated task demand in the form the scheduler places: a 1000 share is
 * turned into one whole device, so `gpuCount > 0` means whole devices and
 * `gpuMilli` is 1..999 for a share or 0.
 */
export interface Demand {
  readonly taskId: string;
  readonly priority: number;
  readonly cpuMilli: number;
  readonly memoryMib: number;
  readonly gpuCount: number;
  readonly gpuMilli: number;
  readonly gpuMemoryMib: number;
  /** Allowed models, or undefined for any model. */
  readonly gpuModels: ReadonlySet<string> | undefined;
  readonly constraints: readonly Constraint[];
  readonly policy: PolicyName;
  /**
   * Everything above except id and priority. Tasks with equal shape keys
   * fit and score alike on every machine, so they share one `ShapeIndex`.
   */
  readonly shapeKey: string;
}

/** Builds the internal form of a demand that `validateDemand` accepted. */
export function toDemand(task: TaskDemand, defaultPolicy: PolicyName): Demand {
  const wholeDevice = task.gpuMilli === 1000;
  const gpuCount = wholeDevice ? 1 : task.gpuCount;
  const gpuMilli = wholeDevice ? 0 : task.gpuMilli;
  const models = [...new Set(task.gpuModels)].sort();
  const constraints = task.constraints.map((constraint) => ({
    key: constraint.key,
    op: constraint.op,
    values: [...constraint.values],
  }));
  const policy = task.policy ?? defaultPolicy;
  const constraintKey = constraints
    .map((constraint) => JSON.stringify([constraint.key, constraint.op, constraint.values]))
    .sort()
    .join(',');
  const shapeKey = [
    task.cpuMilli,
    task.memoryMib,
    gpuCount,
    gpuMilli,
    task.gpuMemoryMib,
    models.join('|'),
    constraintKey,
    policy,
  ].join(';');

  return {
    taskId: task.id,
    priority: task.priority,
    cpuMilli: task.cpuMilli,
    memoryMib: task.memoryMib,
    gpuCount,
    gpuMilli,
    gpuMemoryMib: task.gpuMemoryMib,
    gpuModels: models.length > 0 ? new Set(models) : undefined,
    constraints,
    policy,
    shapeKey,
  };
}

/** Number of devices the demand occupies: its whole GPUs, 1 for a share, 0 without GPUs. */
export function devicesNeeded(demand: Demand): number {
  if (demand.gpuCount > 0) return demand.gpuCount;
  if (demand.gpuMilli > 0) return 1;
  return 0;
}

/** True when the demand needs no GPU at all. */
export function isCpuOnly(demand: Demand): boolean {
  return demand.gpuCount === 0 && demand.gpuMilli === 0;
}
