import type { Channel } from 'nice-grpc';
import type { Logger } from 'pino';

import type { AgentRegistered, DeliverMessage, MessageResult, RunningAttempt } from '../gen/machinehub/agent/v1/agent.js';
import type { GpuDevice, MachineCapacity } from '../gen/machinehub/machine/v1/machine.js';
import { AgentConnection, type AgentEvent } from './AgentConnection.js';
import type { TaskHandler } from './AttemptExecution.js';
import { createAgentLogger } from './createAgentLogger.js';
import { durationToMs, msToDuration } from './durations.js';
import { MessageNotDeliveredError } from './MessageNotDeliveredError.js';
import { DEFAULT_KILL_GRACE_MS, TaskSupervisor } from './TaskSupervisor.js';

/** Default time running tasks get to finish when the agent drains, ms (the server's DrainMachine default). */
export const DEFAULT_DRAIN_DEADLINE_MS = 300_000;

/** Time to wait for the server to end the stream after the agent half-closed it, ms. */
const HALF_CLOSE_TIMEOUT_MS = 10_000;

/** Receives DeliverMessage from other agents. Errors it throws are logged and dropped. */
export type MessageHandler = (message: DeliverMessage) => void | Promise<void>;

/** Settings of one agent session. */
export interface AgentSessionOptions {
  /** Server address, host:port, for example "127.0.0.1:50051". */
  server: string;
  /**
   * Channel shared with other sessions, for example by a simulator that runs
   * many agents in one process. The session never closes it. Default: a
   * channel of its own to `server`.
   */
  channel?: Channel;
  /** Agent id, 1 to 128 characters of [A-Za-z0-9._:-]; the address for messages. */
  agentId: string;
  /** Machine the agent serves. Default: agentId. */
  machineId?: string;
  /** Capacity to declare: CPU in millicores, memory in MiB, GPU devices (default none). */
  capacity: { cpuMilli: number; memoryMib: number; gpus?: GpuDevice[] };
  /** Machine labels for placement constraints. Default none. */
  labels?: Record<string, string>;
  /** Runs assignments in-process instead of spawning their commands. */
  onTask?: TaskHandler;
  /** Receives messages from other agents. */
  onMessage?: MessageHandler;
  /** Parent logger. Default: pino to standard error at logLevel. */
  logger?: Logger;
  /** Level of the default logger. Default 'info'. */
  logLevel?: string;
  /** Upper bound of the reconnect delay, ms. Default 30000. */
  maxReconnectBackoffMs?: number;
  /** Time running tasks get when the agent drains, before it stops them, ms. Default 300000. */
  drainDeadlineMs?: number;
  /** Time between SIGTERM and SIGKILL when a timeout or drain deadline stops a task, ms. Default 10000. */
  killGraceMs?: number;
  /** Working directory of task processes. Default: the agent's current directory. */
  workDir?: string;
  /** TaskStatus reports kept while disconnected. Default 10000. */
  statusBufferLimit?: number;
}

interface PendingMessage {
  resolve: () => void;
  reject: (error: Error) => void;
  toAgentId: string;
}

/**
 * One agent: the connection to the server, the attempts it runs and its
 * messages. runAgent runs one session whose tasks are processes; SDK users
 * get one from connectAgent and may run tasks in-process with onTask.
 */
export class AgentSession {
  readonly agentId: string;
  readonly machineId: string;
  /**
   * Resolves when the session has ended, after drain() or close(); rejects
   * when the server rejected the agent (for example INVALID_ARGUMENT). The
   * error then has a `code` property with the gRPC status code name.
   */
  readonly closed: Promise<void>;

  private readonly logger: Logger;
  private readonly connection: AgentConnection;
  private readonly supervisor: TaskSupervisor;
  private readonly drainDeadlineMs: number;
  private readonly killGraceMs: number;
  private messageHandler: MessageHandler | undefined;
  private readonly pendingMessages = new Map<string, PendingMessage>();
  private messageSequence = 0;
  private drainPromise: Promise<void> | undefined;

  constructor(options: AgentSessionOptions) {
    this.agentId = options.agentId;
    this.machineId = options.machineId ?? options.agentId;
    this.drainDeadlineMs = options.drainDeadlineMs ?? DEFAULT_DRAIN_DEADLINE_MS;
    this.killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
    this.logger = (options.logger ?? createAgentLogger(options.logLevel)).child({ agentId: this.agentId, machineId: this.machineId });
    this.messageHandler = options.onMessage;

    this.supervisor = new TaskSupervisor({
      report: (status) => this.connection.reportStatus(status),
      logger: this.logger,
      killGraceMs: this.killGraceMs,
      ...(options.workDir === undefined ? {} : { workDir: options.workDir }),
    });
    this.supervisor.handler = options.onTask;

    const capacity: MachineCapacity = {
      cpuMilli: options.capacity.cpuMilli,
      memoryMib: options.capacity.memoryMib,
      gpus: options.capacity.gpus ?? [],
    };
    this.connection = new AgentConnection({
      server: options.server,
      ...(options.channel === undefined ? {} : { channel: options.channel }),
      agentId: this.agentId,
      machineId: this.machineId,
      capacity,
      labels: options.labels ?? {},
      ...(options.maxReconnectBackoffMs === undefined ? {} : { maxReconnectBackoffMs: options.maxReconnectBackoffMs }),
      ...(options.statusBufferLimit === undefined ? {} : { statusBufferLimit: options.statusBufferLimit }),
      logger: this.logger,
      running: () => this.supervisor.running,
      onEvent: (event) => this.handleEvent(event),
      onDisconnected: () => this.rejectPendingMessages('UNAVAILABLE', 'agent lost its stream before the server confirmed delivery'),
    });

    this.closed = this.connection.done
      .finally(() => {
        // Tasks cannot be reported once the connection is gone for good.
        this.supervisor.killAll();
        this.rejectPendingMessages('UNAVAILABLE', 'agent session closed');
      })
      .then(async () => {
        // A drain ends the connection from inside; let it finish its own steps first.
        await this.drainPromise?.catch(() => {});
      });
    this.closed.catch(() => {});
  }

  /** Starts connecting; registration and reconnects happen in the background. */
  start(): void {
    this.connection.start();
  }

  /** Resolves with the first AgentRegistered; rejects if the server rejects the agent or the session closes first. */
  get registered(): Promise<AgentRegistered> {
    return this.connection.registered;
  }

  /** True while the stream is open and registered. */
  get isConnected(): boolean {
    return this.connection.isConnected;
  }

  /** Attempts running now. */
  get running(): readonly RunningAttempt[] {
    return this.supervisor.running;
  }

  /** Runs later assignments with handler instead of spawning their commands. */
  onTask(handler: TaskHandler): void {
    this.supervisor.handler = handler;
  }

  /** Sets the receiver of messages from other agents, replacing any earlier one. */
  onMessage(handler: MessageHandler): void {
    this.messageHandler = handler;
  }

  /**
   * Sends a message to another agent through the server. Resolves when the
   * server queued it on the receiver's stream. Otherwise rejects with a
   * MessageNotDeliveredError whose code is the gRPC status code name, for
   * example NOT_FOUND for an unknown agent, or UNAVAILABLE while this agent
   * is disconnected. Messages are not retried.
   */
  send(toAgentId: string, topic: string, payload: Uint8Array | string): Promise<void> {
    this.messageSequence += 1;
    const messageId = String(this.messageSequence);
    const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);

    return new Promise<void>((resolve, reject) => {
      this.pendingMessages.set(messageId, { resolve, reject, toAgentId });
      const sent = this.connection.trySend({ kind: { $case: 'sendMessage', sendMessage: { messageId, toAgentId, topic, payload: body } } });
      if (!sent) {
        this.pendingMessages.delete(messageId);
        reject(new MessageNotDeliveredError('UNAVAILABLE', `cannot send to agent ${toAgentId}: this agent is not connected to the server`, toAgentId));
      }
    });
  }

  /**
   * Drains the agent: sends Drain, fails new assignments with "agent
   * draining", waits up to deadlineMs for running tasks (then stops them and
   * reports them FAILED), sends the remaining reports, half-closes the
   * stream and resolves once the server has ended it. Later calls return
   * the same promise.
   */
  drain(deadlineMs: number = this.drainDeadlineMs): Promise<void> {
    this.drainPromise ??= this.runDrain(deadlineMs);
    return this.drainPromise;
  }

  /**
   * Ends the session at once: kills running tasks with SIGKILL, cancels the
   * stream without a drain (the server treats that as a lost agent) and
   * stops reconnecting.
   */
  async close(): Promise<void> {
    this.supervisor.killAll();
    this.connection.close();
    await this.closed.catch(() => {});
  }

  private async runDrain(deadlineMs: number): Promise<void> {
    const startTime = Date.now();
    this.supervisor.startDraining();
    this.connection.announceDrain({ deadline: msToDuration(deadlineMs) });
    this.logger.info({ deadlineMs, runningTasks: this.supervisor.size }, 'draining');

    const idle = await this.supervisor.waitIdle(deadlineMs);
    if (!idle) {
      this.logger.warn({ deadlineMs, runningTasks: this.supervisor.size }, 'drain deadline passed; stopping running tasks');
      this.supervisor.stopAllForDrain(deadlineMs);
      // Processes get SIGKILL after the grace period and handlers are given
      // up on, so this wait ends soon after it.
      await this.supervisor.waitIdle(this.killGraceMs + 1_000);
    }

    await this.connection.finish(HALF_CLOSE_TIMEOUT_MS);
    this.logger.info({ durationMs: Date.now() - startTime }, 'drained');
  }

  private handleEvent(event: AgentEvent): void {
    switch (event.$case) {
      case 'assignTask':
        this.supervisor.assign(event.assignTask);
        break;
      case 'cancelTask':
        this.supervisor.cancel(event.cancelTask);
        break;
      case 'deliverMessage':
        this.deliver(event.deliverMessage);
        break;
      case 'messageResult':
        this.settleMessage(event.messageResult);
        break;
      case 'drainRequested': {
        const deadlineMs = durationToMs(event.drainRequested.deadline) || this.drainDeadlineMs;
        this.logger.info({ deadlineMs }, 'server requested a drain');
        void this.drain(deadlineMs).catch((err: unknown) => this.logger.error({ err }, 'drain failed'));
        break;
      }
    }
  }

  private deliver(message: DeliverMessage): void {
    const handler = this.messageHandler;
    const fields = { messageId: message.messageId, fromAgentId: message.fromAgentId, topic: message.topic };
    if (handler === undefined) {
      this.logger.warn(fields, 'dropped a message because no message handler is set');
      return;
    }
    void Promise.resolve()
      .then(() => handler(message))
      .catch((err: unknown) => this.logger.error({ ...fields, err }, 'message handler failed'));
  }

  private settleMessage(result: MessageResult): void {
    const pending = this.pendingMessages.get(result.messageId);
    if (pending === undefined) {
      this.logger.warn({ messageId: result.messageId }, 'ignored a MessageResult for an unknown message id');
      return;
    }
    this.pendingMessages.delete(result.messageId);

    if (result.delivered) {
      pending.resolve();
      return;
    }
    const code = result.errorCode || 'UNKNOWN';
    const reason = result.error || 'no reason given';
    pending.reject(new MessageNotDeliveredError(code, `message to agent ${pending.toAgentId} not delivered: ${code}: ${reason}`, pending.toAgentId));
  }

  private rejectPendingMessages(code: string, reason: string): void {
    for (const [messageId, pending] of this.pendingMessages) {
      this.pendingMessages.delete(messageId);
      pending.reject(new MessageNotDeliveredError(code, `message to agent ${pending.toAgentId}: ${reason}`, pending.toAgentId));
    }
  }
}
