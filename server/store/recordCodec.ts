import { MachineCapacity, machineStatusFromJSON, machineStatusToJSON } from '../../gen/machinehub/machine/v1/machine.js';
import { Task, taskStateToJSON } from '../../gen/machinehub/task/v1/task.js';
import type { MachineRecord, TaskRecord } from '../control/records.js';

/**
 * Stored form of a TaskRecord: the proto3 JSON of the wire Task plus the
 * bookkeeping fields. Proto JSON keeps dates (ISO 8601, ms precision as in
 * Date), bytes (base64) and maps exactly, and stays readable in the database.
 */
interface StoredTask {
  task: unknown;
  seq: number;
  gpuMilli: number;
  retryAtMs: number;
}

interface StoredMachine {
  id: string;
  capacity: unknown;
  labels: Record<string, string>;
  declared: boolean;
  status: string;
  statusReason: string;
  /** Absent in records written before drains were stored. */
  drainDeadlineSeconds?: number;
  agentId: string;
  /** ISO 8601, or null when the agent never sent a heartbeat. */
  lastHeartbeatTime: string | null;
}

export function encodeTask(record: TaskRecord): string {
  const stored: StoredTask = { task: Task.toJSON(record), seq: record.seq, gpuMilli: record.gpuMilli, retryAtMs: record.retryAtMs };
  return JSON.stringify(stored);
}

/** Parses what encodeTask wrote; throws when the text is not a stored task. */
export function decodeTask(text: string): TaskRecord {
  const stored = JSON.parse(text) as StoredTask;
  const task = Task.fromJSON(stored.task);
  const spec = task.spec;
  if (task.id === '' || spec === undefined || !Number.isSafeInteger(stored.seq)) {
    throw new Error(`invalid stored task: ${text.slice(0, 200)}`);
  }
  return {
    ...task,
    spec,
    seq: stored.seq,
    gpuMilli: stored.gpuMilli,
    retryAtMs: stored.retryAtMs,
  };
}

export function encodeMachine(record: MachineRecord): string {
  const stored: StoredMachine = {
    id: record.id,
    capacity: MachineCapacity.toJSON(record.capacity),
    labels: record.labels,
    declared: record.declared,
    status: machineStatusToJSON(record.status),
    statusReason: record.statusReason,
    drainDeadlineSeconds: record.drainDeadlineSeconds,
    agentId: record.agentId,
    lastHeartbeatTime: record.lastHeartbeatTime?.toISOString() ?? null,
  };
  return JSON.stringify(stored);
}

/** Parses what encodeMachine wrote; throws when the text is not a stored machine. */
export function decodeMachine(text: string): MachineRecord {
  const stored = JSON.parse(text) as StoredMachine;
  if (typeof stored.id !== 'string' || stored.id === '') throw new Error(`invalid stored machine: ${text.slice(0, 200)}`);
  return {
    id: stored.id,
    capacity: MachineCapacity.fromJSON(stored.capacity),
    labels: { ...stored.labels },
    declared: stored.declared === true,
    status: machineStatusFromJSON(stored.status),
    statusReason: stored.statusReason ?? '',
    drainDeadlineSeconds: stored.drainDeadlineSeconds ?? 0,
    agentId: stored.agentId ?? '',
    lastHeartbeatTime: stored.lastHeartbeatTime === null ? undefined : new Date(stored.lastHeartbeatTime),
  };
}

/** Name of a task's state, kept in its own column for operators reading the database. */
export function taskStateName(record: TaskRecord): string {
  return taskStateToJSON(record.state);
}
