import type { Task, TaskSpec } from '../../gen/machinehub/task/v1/task.js';
import type { MachineCapacity, MachineStatus } from '../../gen/machinehub/machine/v1/machine.js';
import type { AgentState } from '../../gen/machinehub/agent/v1/agent.js';

/**
 * A task as the control plane keeps it: the wire Task plus bookkeeping. The
 * extra fields are ignored by Task.encode, so a record can be sent as is.
 */
export interface TaskRecord extends Task {
  spec: TaskSpec;
  /** Submission order across the server's life; ListTasks sorts by it. */
  seq: number;
  /** Share per device held by the current attempt: 1000 for whole GPUs. */
  gpuMilli: number;
  /** While waiting out a retry backoff: epoch ms when it may be queued again, else 0. */
  retryAtMs: number;
}

/** A machine in the hub. The scheduler keeps its allocation; this record keeps the rest. */
export interface MachineRecord {
  id: string;
  capacity: MachineCapacity;
  labels: Record<string, string>;
  /** True when declared by RegisterMachine: its capacity wins over the agent's. */
  declared: boolean;
  status: MachineStatus;
  statusReason: string;
  /**
   * Deadline of a drain requested through DrainMachine, seconds; 0 when none.
   * Kept until the agent leaves, so a reconnect does not end the drain.
   */
  drainDeadlineSeconds: number;
  agentId: string;
  lastHeartbeatTime: Date | undefined;
}

/** An agent and its link. `session` is set while its stream is open. */
export interface AgentRecord {
  id: string;
  machineId: string;
  state: AgentState;
  peer: string;
  connectTime: Date | undefined;
  lastHeartbeatTime: Date | undefined;
  protocolVersion: number;
  /** Epoch ms of the last heartbeat or registration, for the lease. */
  lastSeenMs: number;
  /** Epoch ms when the agent became DISCONNECTED, for the lost timeout. */
  disconnectedAtMs: number;
  /** Lease sent to this agent at registration, ms. */
  leaseTimeoutMs: number;
  /** True after the agent sent Drain: its stream may then end cleanly. */
  draining: boolean;
}
