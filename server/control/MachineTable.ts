import type { EventEmitter } from 'node:events';
import { Status } from 'nice-grpc';
import type { Logger } from 'pino';
import { MachineStatus, type MachineCapacity } from '../../gen/machinehub/machine/v1/machine.js';
import type { ConnectResponse } from '../../gen/machinehub/agent/v1/agent.js';
import { SchedulerError, type Scheduler } from '../scheduler/index.js';
import type { Store } from '../store/Store.js';
import { invalidArgument, notFound } from '../errors.js';
import { toMachineSpec } from './machineSpec.js';
import { clip } from './validateTaskSpec.js';
import type { MachineRecord } from './records.js';

/** The server side of one agent's stream, as the control plane uses it. */
export interface AgentLink {
  /** Queues a control message (assignment, cancel, drain). Never dropped. */
  sendControl(message: ConnectResponse): void;
  /** Ends the stream with the status `code`, UNAVAILABLE by default. */
  close(reason: string, code?: Status): void;
}

/**
 * Machines, the agent link of each, and the tasks placed on each. It keeps
 * the scheduler's view in step: a machine is schedulable iff it is READY.
 * Emits 'machine' (record, removed) on the emitter it is given.
 */
export class MachineTable {
  readonly machines = new Map<string, MachineRecord>();
  private readonly links = new Map<string, AgentLink>();
  private readonly active = new Map<string, Set<string>>();

  constructor(
    private readonly scheduler: Scheduler,
    private readonly store: Store,
    private readonly log: Logger,
    private readonly events: EventEmitter,
    /** Called when a machine becomes READY, so queued tasks can be placed there. */
    private readonly onReady: () => void,
  ) {}

  /**
   * Adds a machine, not schedulable until it is READY. Throws
   * INVALID_ARGUMENT, changing nothing, when the scheduler rejects the spec.
   */
  add(id: string, capacity: MachineCapacity, labels: Record<string, string>, declared: boolean): MachineRecord {
    const machine: MachineRecord = {
      id,
      capacity,
      labels,
      declared,
      status: MachineStatus.MACHINE_STATUS_OFFLINE,
      statusReason: 'no agent connected',
      drainDeadlineSeconds: 0,
      agentId: '',
      lastHeartbeatTime: undefined,
    };
    this.insert(machine);
    this.store.saveMachine(machine);
    this.events.emit('machine', machine, false);
    this.log.info({ machineId: id, declared, cpuMilli: capacity.cpuMilli, gpus: capacity.gpus.length }, 'machine added');
    return machine;
  }

  /** Puts back a machine read from the store after a restart. */
  restore(machine: MachineRecord): void {
    machine.drainDeadlineSeconds ??= 0;
    this.insert(machine);
  }

  private insert(machine: MachineRecord): void {
    try {
      this.scheduler.addMachine(toMachineSpec(machine));
    } catch (error) {
      if (error instanceof SchedulerError) throw invalidArgument(`machine "${machine.id}": ${error.message}`);
      throw error;
    }
    this.machines.set(machine.id, machine);
    this.scheduler.setSchedulable(machine.id, false);
  }

  /** Swaps a machine's capacity and labels; only valid with no tasks on it. */
  replaceSpec(machine: MachineRecord, capacity: MachineCapacity, labels: Record<string, string>): void {
    const updated = { ...machine, capacity, labels };
    this.scheduler.removeMachine(machine.id);
    try {
      this.scheduler.addMachine(toMachineSpec(updated));
    } catch (error) {
      this.scheduler.addMachine(toMachineSpec(machine));
      this.scheduler.setSchedulable(machine.id, machine.status === MachineStatus.MACHINE_STATUS_READY);
      if (error instanceof SchedulerError) throw invalidArgument(`machine "${machine.id}": ${error.message}`);
      throw error;
    }
    machine.capacity = capacity;
    machine.labels = labels;
    this.scheduler.setSchedulable(machine.id, machine.status === MachineStatus.MACHINE_STATUS_READY);
    this.store.saveMachine(machine);
  }

  get(id: string): MachineRecord {
    const machine = this.machines.get(id);
    if (!machine) throw notFound(`machine "${clip(id)}" not found`);
    return machine;
  }

  /** Ids of the tasks assigned to or running on a machine. */
  activeOn(machineId: string): Set<string> {
    let set = this.active.get(machineId);
    if (!set) {
      set = new Set();
      this.active.set(machineId, set);
    }
    return set;
  }

  allocationOf(machineId: string) {
    return this.scheduler.machineAllocation(machineId);
  }

  /** Sets a machine's status; only READY machines take new tasks. */
  setStatus(machineId: string, status: MachineStatus, reason: string): void {
    const machine = this.machines.get(machineId);
    if (!machine || (machine.status === status && machine.statusReason === reason)) return;
    machine.status = status;
    machine.statusReason = reason;
    this.scheduler.setSchedulable(machineId, status === MachineStatus.MACHINE_STATUS_READY);
    this.store.saveMachine(machine);
    this.events.emit('machine', machine, false);
    if (status === MachineStatus.MACHINE_STATUS_READY) this.onReady();
  }

  /** Sends a control message to the machine's agent, if one is connected. */
  send(machineId: string, message: ConnectResponse): void {
    this.links.get(machineId)?.sendControl(message);
  }

  attach(machineId: string, link: AgentLink): void {
    this.links.set(machineId, link);
  }

  /** Forgets a stream; a later stream of the same machine replaces it. */
  detach(machineId: string, link: AgentLink): void {
    if (this.links.get(machineId) === link) this.links.delete(machineId);
  }

  hasLink(machineId: string): boolean {
    return this.links.has(machineId);
  }

  /**
   * Drops a machine. Its agent's stream ends with FAILED_PRECONDITION, which
   * agents do not retry, so a removed machine does not come straight back.
   */
  delete(id: string, reason: string): MachineRecord | undefined {
    this.scheduler.removeMachine(id);
    this.links.get(id)?.close(reason, Status.FAILED_PRECONDITION);
    this.links.delete(id);
    this.active.delete(id);
    const machine = this.machines.get(id);
    this.machines.delete(id);
    this.store.deleteMachine(id);
    if (machine) this.events.emit('machine', machine, true);
    return machine;
  }
}
