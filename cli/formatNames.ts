import { AgentState } from '../gen/machinehub/agent/v1/agent.js';
import { MachineStatus } from '../gen/machinehub/machine/v1/machine.js';
import { ConstraintOperator, PlacementPolicy, TaskState, type Constraint } from '../gen/machinehub/task/v1/task.js';

/** Returns a task state as the CLI spells it, such as "queued". */
export function formatTaskState(state: TaskState): string {
  return enumName(TaskState, state, 'TASK_STATE_');
}

/** Returns a machine status as the CLI spells it, such as "ready". */
export function formatMachineStatus(status: MachineStatus): string {
  return enumName(MachineStatus, status, 'MACHINE_STATUS_');
}

/** Returns an agent state as the CLI spells it, such as "connected". */
export function formatAgentState(state: AgentState): string {
  return enumName(AgentState, state, 'AGENT_STATE_');
}

/** Returns a placement policy as --policy spells it; "default" when unset. */
export function formatPolicy(policy: PlacementPolicy): string {
  return policy === PlacementPolicy.PLACEMENT_POLICY_UNSPECIFIED ? 'default' : enumName(PlacementPolicy, policy, 'PLACEMENT_POLICY_');
}

/** Returns a constraint as --constraint spells it, such as "zone in a,b". */
export function formatConstraint(constraint: Constraint): string {
  const values = constraint.values.join(',');
  switch (constraint.operator) {
    case ConstraintOperator.CONSTRAINT_OPERATOR_EQUALS:
      return `${constraint.key}=${values}`;
    case ConstraintOperator.CONSTRAINT_OPERATOR_IN:
      return `${constraint.key} in ${values}`;
    case ConstraintOperator.CONSTRAINT_OPERATOR_NOT_IN:
      return `${constraint.key} notin ${values}`;
    case ConstraintOperator.CONSTRAINT_OPERATOR_EXISTS:
      return `${constraint.key} exists`;
    case ConstraintOperator.CONSTRAINT_OPERATOR_NOT_EXISTS:
      return `${constraint.key} notexists`;
    default:
      return `${constraint.key} ? ${values}`;
  }
}

/** Returns a time as "2026-12-04 19:48:03Z", or "-" when unset. */
export function formatTime(time: Date | undefined): string {
  if (time === undefined) {
    return '-';
  }
  return time.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** Returns the lower-case member name without its prefix, or the number for values this build does not know. */
function enumName(enumeration: Record<number, string>, value: number, prefix: string): string {
  const name = enumeration[value];
  if (name === undefined || name === 'UNRECOGNIZED') {
    return String(value);
  }
  return name.replace(prefix, '').toLowerCase();
}
