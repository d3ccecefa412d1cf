import { MachineStatus } from '../gen/machinehub/machine/v1/machine.js';
import { PlacementPolicy, TaskState } from '../gen/machinehub/task/v1/task.js';
import { UsageError } from './UsageError.js';

/** Placement policy names accepted on the command line. */
export const POLICY_NAMES = ['binpack', 'spread', 'fgd'] as const;
export type PolicyOptionName = (typeof POLICY_NAMES)[number];

const POLICIES: Record<PolicyOptionName, PlacementPolicy> = {
  binpack: PlacementPolicy.PLACEMENT_POLICY_BINPACK,
  spread: PlacementPolicy.PLACEMENT_POLICY_SPREAD,
  fgd: PlacementPolicy.PLACEMENT_POLICY_FGD,
};

const TASK_STATES: Record<string, TaskState> = {
  queued: TaskState.TASK_STATE_QUEUED,
  assigned: TaskState.TASK_STATE_ASSIGNED,
  running: TaskState.TASK_STATE_RUNNING,
  completed: TaskState.TASK_STATE_COMPLETED,
  failed: TaskState.TASK_STATE_FAILED,
  cancelled: TaskState.TASK_STATE_CANCELLED,
};

const MACHINE_STATUSES: Record<string, MachineStatus> = {
  ready: MachineStatus.MACHINE_STATUS_READY,
  disconnected: MachineStatus.MACHINE_STATUS_DISCONNECTED,
  draining: MachineStatus.MACHINE_STATUS_DRAINING,
  lost: MachineStatus.MACHINE_STATUS_LOST,
  offline: MachineStatus.MACHINE_STATUS_OFFLINE,
};

/** Parses a --policy name. */
export function parsePolicyName(option: string, text: string): PolicyOptionName {
  const name = text.trim().toLowerCase();
  if (!(POLICY_NAMES as readonly string[]).includes(name)) {
    throw new UsageError(`invalid --${option} "${text}": expected one of ${POLICY_NAMES.join(', ')}`);
  }
  return name as PolicyOptionName;
}

/** Parses a --policy name into the wire enum. */
export function parsePlacementPolicy(option: string, text: string): PlacementPolicy {
  return POLICIES[parsePolicyName(option, text)];
}

/** Parses a task state name such as "queued". */
export function parseTaskState(option: string, text: string): TaskState {
  return parseName(option, text, TASK_STATES);
}

/** Parses a machine status name such as "ready". */
export function parseMachineStatus(option: string, text: string): MachineStatus {
  return parseName(option, text, MACHINE_STATUSES);
}

function parseName<T>(option: string, text: string, names: Record<string, T>): T {
  const value = names[text.trim().toLowerCase()];
  if (value === undefined) {
    throw new UsageError(`invalid --${option} "${text}": expected one of ${Object.keys(names).join(', ')}`);
  }
  return value;
}
