import { POLICY_NAMES, type Constraint, type TaskDemand } from './types.ts';

const CONSTRAINT_OPS = new Set(['equals', 'in', 'not_in', 'exists', 'not_exists']);

/**
 * Checks a task demand and returns a message naming the field, its value and
 * the limit, or undefined when the demand is valid. Resource fields must be
 * non-negative safe integers; `gpuMilli` is 0..1000 and excludes `gpuCount`.
 */
export function validateDemand(task: TaskDemand): string | undefined {
  if (typeof task.id !== 'string' || task.id.length === 0) {
    return `id must be a non-empty string, got ${JSON.stringify(task.id)}`;
  }
  if (!Number.isSafeInteger(task.priority)) {
    return `priority of task ${task.id} must be a safe integer, got ${String(task.priority)}`;
  }

  const resourceFields = ['cpuMilli', 'memoryMib', 'gpuCount', 'gpuMilli', 'gpuMemoryMib'] as const;
  for (const field of resourceFields) {
    const value = task[field];
    if (!Number.isSafeInteger(value) || value < 0) {
      return `${field} of task ${task.id} must be a non-negative safe integer, got ${String(value)}`;
    }
  }

  if (task.gpuMilli > 1000) {
    return `gpuMilli of task ${task.id} must be at most 1000 (one whole GPU), got ${task.gpuMilli}; use gpuCount for more than one GPU`;
  }
  if (task.gpuCount > 0 && task.gpuMilli > 0) {
    return `task ${task.id} sets both gpuCount ${task.gpuCount} and gpuMilli ${task.gpuMilli}; set gpuCount for whole GPUs or gpuMilli for a share of one GPU, not both`;
  }
  if (task.gpuMemoryMib > 0 && task.gpuCount === 0 && task.gpuMilli === 0) {
    return `gpuMemoryMib of task ${task.id} is ${task.gpuMemoryMib} but the task requests no GPU; set gpuCount or gpuMilli, or set gpuMemoryMib to 0`;
  }
  if (!Array.isArray(task.gpuModels) || task.gpuModels.some((model) => typeof model !== 'string' || model === '')) {
    return `gpuModels of task ${task.id} must be a list of non-empty model names, got ${JSON.stringify(task.gpuModels)}`;
  }
  if (task.gpuModels.length > 0 && task.gpuCount === 0 && task.gpuMilli === 0) {
    return `gpuModels of task ${task.id} lists ${task.gpuModels.join('|')} but the task requests no GPU; set gpuCount or gpuMilli, or leave gpuModels empty`;
  }

  if (!Array.isArray(task.constraints)) {
    return `constraints of task ${task.id} must be a list, got ${JSON.stringify(task.constraints)}`;
  }
  for (const [position, constraint] of task.constraints.entries()) {
    const problem = validateConstraint(constraint);
    if (problem !== undefined) {
      return `constraints[${position}] of task ${task.id} ${problem}`;
    }
  }

  if (task.policy !== undefined && !POLICY_NAMES.includes(task.policy)) {
    return `policy of task ${task.id} must be one of ${POLICY_NAMES.join(', ')}, got ${JSON.stringify(task.policy)}`;
  }
  return undefined;
}

function validateConstraint(constraint: Constraint): string | undefined {
  if (typeof constraint.key !== 'string' || constraint.key === '') {
    return `has an empty label key`;
  }
  if (!CONSTRAINT_OPS.has(constraint.op)) {
    return `on label ${constraint.key} has unknown op ${JSON.stringify(constraint.op)}; use equals, in, not_in, exists or not_exists`;
  }
  if (!Array.isArray(constraint.values) || constraint.values.some((value) => typeof value !== 'string')) {
    return `on label ${constraint.key} must have a list of string values`;
  }
  const needsValues = constraint.op === 'equals' || constraint.op === 'in' || constraint.op === 'not_in';
  if (needsValues && constraint.values.length === 0) {
    return `on label ${constraint.key} uses op ${constraint.op} but lists no values`;
  }
  return undefined;
}
