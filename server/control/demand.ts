import { ConstraintOperator, PlacementPolicy, type TaskSpec } from '../../gen/machinehub/task/v1/task.js';
import type { ConstraintOp, PolicyName, TaskDemand } from '../scheduler/index.js';

const OPERATORS: Partial<Record<ConstraintOperator, ConstraintOp>> = {
  [ConstraintOperator.CONSTRAINT_OPERATOR_EQUALS]: 'equals',
  [ConstraintOperator.CONSTRAINT_OPERATOR_IN]: 'in',
  [ConstraintOperator.CONSTRAINT_OPERATOR_NOT_IN]: 'not_in',
  [ConstraintOperator.CONSTRAINT_OPERATOR_EXISTS]: 'exists',
  [ConstraintOperator.CONSTRAINT_OPERATOR_NOT_EXISTS]: 'not_exists',
};

const POLICIES: Partial<Record<PlacementPolicy, PolicyName>> = {
  [PlacementPolicy.PLACEMENT_POLICY_BINPACK]: 'binpack',
  [PlacementPolicy.PLACEMENT_POLICY_SPREAD]: 'spread',
  [PlacementPolicy.PLACEMENT_POLICY_FGD]: 'fgd',
};

/** Converts a validated spec into what the scheduler core places. */
export function toDemand(id: string, spec: TaskSpec): TaskDemand {
  const resources = spec.resources;
  const demand: TaskDemand = {
    id,
    priority: spec.priority,
    cpuMilli: resources?.cpuMilli ?? 0,
    memoryMib: resources?.memoryMib ?? 0,
    gpuCount: resources?.gpuCount ?? 0,
    gpuMilli: resources?.gpuMilli ?? 0,
    gpuMemoryMib: resources?.gpuMemoryMib ?? 0,
    gpuModels: resources?.gpuModels ?? [],
    constraints: spec.constraints.map((c) => ({ key: c.key, op: OPERATORS[c.operator] ?? 'exists', values: c.values })),
  };
  const policy = POLICIES[spec.policy];
  if (policy) demand.policy = policy;
  return demand;
}
