import type { Logger } from 'pino';
import { Status } from 'nice-grpc';
import {
  AgentState,
  type Agent,
  type ConnectResponse,
  type RegisterAgent,
  type SendMessage,
  type RunningAttempt,
} from '../../gen/machinehub/agent/v1/agent.js';
import { MachineStatus } from '../../gen/machinehub/machine/v1/machine.js';
import { alreadyExists, failedPrecondition, invalidArgument, notFound, resourceExhausted, unavailable } from '../errors.js';
import type { AgentSession } from '../grpc/AgentSession.js';
import type { ControlPlane } from './ControlPlane.js';
import type { AgentRecord } from './records.js';
import { validateMachine } from './validateMachine.js';
import { leaseFor, type LeaseSettings } from './lease.js';
import { ID_PATTERN } from './ids.js';
import { msToDuration } from './retry.js';
import { clip } from './validateTaskSpec.js';

/** Protocol version this server speaks; see agent.proto. */
export const PROTOCOL_VERSION = 1;
/** Maximum time a sender waits for room in a receiver's queue before RESOURCE_EXHAUSTED. */
const DELIVERY_WAIT_MS = 5_000;
const MAX_TOPIC_CHARS = 256;
/** Most attempts one RegisterAgent or Heartbeat may list; far above any machine's task count. */
const MAX_RUNNING_ENTRIES = 10_000;

/**
 * Agents and their links: registration, heartbeats, leases, drains and
 * message routing. Task consequences (adoption, loss) are delegated to the
 * ControlPlane. Invariant: at most one open session per agent id and per
 * machine.
 */
export class AgentHub {
  readonly agents = new Map<string, AgentRecord>();
  private readonly sessions = new Map<string, AgentSession>();
  private messageCounter = 0;

  constructor(
    private readonly plane: ControlPlane,
    private readonly settings: LeaseSettings,
    private readonly serverId: string,
    private readonly log: Logger,
  ) {}

  /**
   * Marks the agents of machines restored with running tasks as disconnected
   * from `startMs`, so they have a full lost timeout to reconnect before any
   * of their tasks is placed again.
   */
  restore(startMs: number): void {
    for (const machine of this.plane.fleet.machines.values()) {
      if (!machine.agentId || this.plane.fleet.activeOn(machine.id).size === 0) continue;
      this.agents.set(machine.agentId, {
        id: machine.agentId,
        machineId: machine.id,
        state: AgentState.AGENT_STATE_DISCONNECTED,
        peer: '',
        connectTime: undefined,
        lastHeartbeatTime: machine.lastHeartbeatTime,
        protocolVersion: 0,
        lastSeenMs: startMs,
        disconnectedAtMs: startMs,
        leaseTimeoutMs: this.settings.leaseTimeoutMs,
        draining: false,
      });
      this.plane.fleet.setStatus(machine.id, MachineStatus.MACHINE_STATUS_DISCONNECTED, 'waiting for the agent after a server restart');
    }
  }

  /**
   * Registers the agent of a new stream. Throws an ApiError when the request
   * is invalid or another live agent serves the machine; nothing changes then.
   */
  register(register: RegisterAgent, session: AgentSession): ConnectResponse {
    const agentId = register.agentId;
    if (!ID_PATTERN.test(agentId)) {
      throw invalidArgument(`register.agent_id: "${clip(agentId)}" is invalid: use 1 to 128 characters of A-Z a-z 0-9 . _ : -`);
    }
    if (register.protocolVersion !== PROTOCOL_VERSION) {
      throw failedPrecondition(`register.protocol_version: ${register.protocolVersion} is not supported; this server speaks ${PROTOCOL_VERSION}`);
    }
    const machineId = register.machineId || agentId;
    const invalid = validateMachine('register.', machineId, register.capacity, register.labels, 'machine_id');
    if (invalid) throw invalid;
    for (const [field, list] of [['running', register.running]] as const) {
      if (list.length > MAX_RUNNING_ENTRIES) {
        throw invalidArgument(`register.${field}: ${list.length} entries, limit is ${MAX_RUNNING_ENTRIES}`);
      }
    }

    const machine = this.plane.fleet.machines.get(machineId);
    if (machine?.agentId && machine.agentId !== agentId && this.sessions.has(machine.agentId)) {
      throw alreadyExists(`machine "${machineId}" is served by connected agent "${machine.agentId}"`);
    }
    const previous = this.sessions.get(agentId);
    if (previous) {
      // The old stream may be half-dead (its peer vanished without a FIN); the new one wins.
      previous.log.warn('replaced by a new stream of the same agent');
      previous.close('replaced by a new stream of the same agent');
      this.sessions.delete(agentId);
      this.plane.fleet.detach(previous.machineId, previous);
    }
    this.releaseOldBindings(agentId, machineId, machine?.agentId);

    const record = machine ?? this.plane.fleet.add(machineId, register.capacity!, register.labels, false);
    if (machine && !machine.declared) this.plane.updateCapacity(machine, register.capacity!, register.labels);
    record.agentId = agentId;
    const now = Date.now();
    const lease = leaseFor(this.settings, this.connectedCount() + 1);
    const agent: AgentRecord = {
      id: agentId,
      machineId,
      state: AgentState.AGENT_STATE_CONNECTED,
      peer: session.peer,
      connectTime: new Date(now),
      lastHeartbeatTime: new Date(now),
      protocolVersion: register.protocolVersion,
      lastSeenMs: now,
      disconnectedAtMs: 0,
      leaseTimeoutMs: lease.leaseTimeoutMs,
      draining: record.drainDeadlineSeconds > 0,
    };
    this.agents.set(agentId, agent);
    this.sessions.set(agentId, session);
    record.lastHeartbeatTime = agent.lastHeartbeatTime;

    const adopted = this.plane.attachLink(machineId, session, register.running);
    if (agent.draining) {
      // A drain requested before a reconnect still applies: no new tasks, and DrainRequested goes out again.
      this.plane.fleet.setStatus(machineId, MachineStatus.MACHINE_STATUS_DRAINING, 'drain requested before the agent reconnected');
      session.sendControl(drainRequested(record.drainDeadlineSeconds));
    } else {
      this.plane.fleet.setStatus(machineId, MachineStatus.MACHINE_STATUS_READY, '');
    }
    session.log.info(
      { machineId, adopted: adopted.length, reported: register.running.length, heartbeatMs: lease.heartbeatIntervalMs },
      'agent connected',
    );
    return {
      kind: {
        $case: 'registered',
        registered: {
          agentId,
          heartbeatInterval: msToDuration(lease.heartbeatIntervalMs),
          leaseTimeout: msToDuration(lease.leaseTimeoutMs),
          lostTimeout: msToDuration(this.settings.lostTimeoutMs),
          adopted,
          serverId: this.serverId,
        },
      },
    };
  }

  /**
   * Unbinds what a registration replaces. When this agent served another
   * machine before, that machine is lost at once, because nothing serves it
   * any more. When another agent served this machine before, that agent's
   * record is marked LEFT, so its lost timeout cannot later declare the
   * machine lost under the new agent.
   */
  private releaseOldBindings(agentId: string, machineId: string, previousAgentId: string | undefined): void {
    const own = this.agents.get(agentId);
    if (own && own.machineId !== machineId && own.state !== AgentState.AGENT_STATE_LEFT && own.state !== AgentState.AGENT_STATE_LOST) {
      this.log.warn({ agentId, machineId: own.machineId, newMachineId: machineId }, 'agent moved to another machine');
      const oldMachine = this.plane.fleet.machines.get(own.machineId);
      if (oldMachine?.agentId === agentId) {
        oldMachine.agentId = '';
        this.plane.machineLost(own.machineId, `its agent ${agentId} now serves machine ${machineId}`);
      }
    }
    if (previousAgentId && previousAgentId !== agentId) {
      const displaced = this.agents.get(previousAgentId);
      if (displaced && displaced.machineId === machineId) {
        displaced.state = AgentState.AGENT_STATE_LEFT;
        this.log.info({ agentId: previousAgentId, machineId, newAgentId: agentId }, 'machine taken over by another agent');
      }
    }
  }

  /** Renews the lease of the agent behind `session`. */
  touch(session: AgentSession): void {
    const agent = this.agents.get(session.agentId);
    if (agent) agent.lastSeenMs = Date.now();
  }

  heartbeat(session: AgentSession, running: RunningAttempt[]): void {
    const agent = this.agents.get(session.agentId);
    if (!agent || this.sessions.get(session.agentId) !== session) return;
    const now = Date.now();
    agent.lastSeenMs = now;
    agent.lastHeartbeatTime = new Date(now);
    const machine = this.plane.fleet.machines.get(agent.machineId);
    if (machine) machine.lastHeartbeatTime = agent.lastHeartbeatTime;
    if (agent.state === AgentState.AGENT_STATE_DISCONNECTED) {
      if (this.drainingAgent(agent)) {
        agent.state = AgentState.AGENT_STATE_DRAINING;
        this.plane.fleet.setStatus(agent.machineId, MachineStatus.MACHINE_STATUS_DRAINING, 'the agent is draining');
      } else {
        agent.state = AgentState.AGENT_STATE_CONNECTED;
        this.plane.fleet.setStatus(agent.machineId, MachineStatus.MACHINE_STATUS_READY, '');
      }
      session.log.info('heartbeats resumed');
    }
    if (running.length > MAX_RUNNING_ENTRIES) {
      session.close(`heartbeat.running: ${running.length} entries, limit is ${MAX_RUNNING_ENTRIES}`, Status.INVALID_ARGUMENT);
      return;
    }
    this.plane.reconcileRunning(agent.machineId, running);
  }

  /** Marks the agent as draining: no new tasks, and its stream may end cleanly once its tasks finish. */
  drain(session: AgentSession): void {
    const agent = this.agents.get(session.agentId);
    if (!agent) return;
    agent.draining = true;
    agent.state = AgentState.AGENT_STATE_DRAINING;
    this.plane.fleet.setStatus(agent.machineId, MachineStatus.MACHINE_STATUS_DRAINING, 'the agent is draining');
    session.log.info({ running: this.plane.fleet.activeOn(agent.machineId).size }, 'agent draining');
  }

  /**
   * Handles the end of a stream. A half-close after the agent's Drain, with
   * no tasks left, is a clean leave. Any other end, a cancel included, is a
   * lost link: the machine is DISCONNECTED, and it becomes LOST unless the
   * agent returns within the lost timeout.
   */
  streamEnded(session: AgentSession, cause: string): void {
    session.close(cause);
    if (this.sessions.get(session.agentId) !== session) return;
    this.sessions.delete(session.agentId);
    this.plane.fleet.detach(session.machineId, session);
    const agent = this.agents.get(session.agentId);
    if (!agent) return;
    const now = Date.now();
    if (session.cleanEnd && this.drainingAgent(agent) && this.plane.fleet.activeOn(agent.machineId).size === 0) {
      agent.state = AgentState.AGENT_STATE_LEFT;
      this.plane.endDrain(agent.machineId);
      this.plane.fleet.setStatus(agent.machineId, MachineStatus.MACHINE_STATUS_OFFLINE, 'the agent left after a drain');
      session.log.info({ machineId: agent.machineId }, 'agent left');
      return;
    }
    agent.state = AgentState.AGENT_STATE_DISCONNECTED;
    agent.disconnectedAtMs = now;
    this.plane.fleet.setStatus(agent.machineId, MachineStatus.MACHINE_STATUS_DISCONNECTED, `stream ended: ${cause}`);
    session.log.warn({ machineId: agent.machineId, cause }, 'agent disconnected');
  }

  /**
   * Applies leases; run by a timer. A connected agent silent for its lease
   * timeout is DISCONNECTED and its stream closed, because a peer that stops
   * heartbeating may sit behind a half-dead connection. A DISCONNECTED agent
   * is LOST after the lost timeout.
   */
  sweep(now: number): void {
    for (const agent of this.agents.values()) {
      if (agent.state === AgentState.AGENT_STATE_CONNECTED || agent.state === AgentState.AGENT_STATE_DRAINING) {
        const session = this.sessions.get(agent.id);
        if (session?.heldBack) agent.lastSeenMs = now;
        if (now - agent.lastSeenMs <= agent.leaseTimeoutMs) continue;
        const silence = ((now - agent.lastSeenMs) / 1000).toFixed(1);
        if (session) this.streamEnded(session, `no heartbeat for ${silence}s`);
        else {
          agent.state = AgentState.AGENT_STATE_DISCONNECTED;
          agent.disconnectedAtMs = now;
        }
      } else if (agent.state === AgentState.AGENT_STATE_DISCONNECTED) {
        if (now - agent.disconnectedAtMs <= this.settings.lostTimeoutMs) continue;
        agent.state = AgentState.AGENT_STATE_LOST;
        const reason = `no agent for ${((now - agent.disconnectedAtMs) / 1000).toFixed(1)}s`;
        this.log.warn({ agentId: agent.id, machineId: agent.machineId, reason }, 'agent lost');
        this.plane.machineLost(agent.machineId, reason);
      }
    }
    this.plane.releaseBackoffs(now);
  }

  /**
   * Routes an agent's SendMessage and returns the MessageResult for the
   * sender. Waits for room in the receiver's queue, which holds back the
   * sender's stream; messages from one sender stay in order.
   */
  async route(session: AgentSession, message: SendMessage): Promise<ConnectResponse> {
    const result = (delivered: boolean, errorCode = '', error = ''): ConnectResponse => ({
      kind: { $case: 'messageResult', messageResult: { messageId: message.messageId, delivered, errorCode, error } },
    });
    try {
      await this.deliver(message.toAgentId, session.agentId, message.topic, message.payload, message.messageId);
      return result(true);
    } catch (error) {
      const apiError = error as { code?: number; message: string };
      return result(false, statusName(apiError.code), apiError.message);
    }
  }

  /** Delivers a message to a connected agent; throws NOT_FOUND, UNAVAILABLE or RESOURCE_EXHAUSTED. */
  async deliver(to: string, from: string, topic: string, payload: Buffer, messageId = ''): Promise<string> {
    if (topic.length > MAX_TOPIC_CHARS) throw invalidArgument(`topic: ${topic.length} characters, limit is ${MAX_TOPIC_CHARS}`);
    const target = this.agents.get(to);
    if (!target) throw notFound(`agent "${clip(to)}" not found`);
    const session = this.sessions.get(to);
    if (!session) throw unavailable(`agent "${to}" is not connected (state ${AgentState[target.state]})`);
    const id = messageId || `m-${++this.messageCounter}`;
    const queued = await session.sendData(
      { kind: { $case: 'deliverMessage', deliverMessage: { messageId: id, fromAgentId: from, topic, payload } } },
      payload.length,
      DELIVERY_WAIT_MS,
    );
    if (!queued) {
      throw resourceExhausted(
        `agent "${to}" has ${session.outbound.size} undelivered messages (${session.outbound.bytes} bytes); retry later`,
      );
    }
    return id;
  }

  list(): Agent[] {
    return [...this.agents.values()]
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((agent) => ({
        id: agent.id,
        machineId: agent.machineId,
        state: agent.state,
        peer: agent.peer,
        connectTime: agent.connectTime,
        lastHeartbeatTime: agent.lastHeartbeatTime,
        protocolVersion: agent.protocolVersion,
      }));
  }

  /** Messages waiting in an agent's outbound queue; 0 when it has no open stream. */
  queueDepth(agentId: string): number {
    return this.sessions.get(agentId)?.outbound.size ?? 0;
  }

  /** Payload bytes of the messages waiting in an agent's outbound queue. */
  queueBytes(agentId: string): number {
    return this.sessions.get(agentId)?.outbound.bytes ?? 0;
  }

  /** True while `session` is the agent's open stream (not replaced or ended). */
  isCurrent(session: AgentSession): boolean {
    return this.sessions.get(session.agentId) === session;
  }

  /** True when the agent announced a drain or an operator drained its machine. */
  private drainingAgent(agent: AgentRecord): boolean {
    return agent.draining || (this.plane.fleet.machines.get(agent.machineId)?.drainDeadlineSeconds ?? 0) > 0;
  }

  connectedCount(): number {
    return this.sessions.size;
  }

  /** Closes every open stream, for shutdown. */
  closeAll(reason: string): void {
    for (const session of [...this.sessions.values()]) session.close(reason);
  }
}

function statusName(code: number | undefined): string {
  return (code !== undefined && Status[code]) || 'INTERNAL';
}

function drainRequested(deadlineSeconds: number): ConnectResponse {
  return { kind: { $case: 'drainRequested', drainRequested: { deadline: { seconds: deadlineSeconds, nanos: 0 } } } };
}
