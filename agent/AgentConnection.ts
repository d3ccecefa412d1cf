import { ClientError, Status, type Channel, type Metadata } from 'nice-grpc';
import type { Logger } from 'pino';

import {
  type AgentRegistered,
  type ConnectRequest,
  type ConnectResponse,
  type Drain,
  type RunningAttempt,
  type TaskStatus,
} from '../gen/machinehub/agent/v1/agent.js';
import type { MachineCapacity } from '../gen/machinehub/machine/v1/machine.js';
import { computeBackoffDelay, DEFAULT_MAX_RECONNECT_BACKOFF_MS } from './computeBackoffDelay.js';
import { durationToMs } from './durations.js';
import { logReconnect } from './logReconnect.js';
import { RequestQueue } from './RequestQueue.js';
import { LEADER_METADATA_KEY, ServerTarget } from './ServerTarget.js';
import { StatusBuffer } from './StatusBuffer.js';

/** Protocol version this agent speaks, sent in RegisterAgent. */
export const PROTOCOL_VERSION = 1;

/** Default number of TaskStatus reports kept while disconnected. */
export const DEFAULT_STATUS_BUFFER_LIMIT = 10_000;

/** Heartbeat interval used when AgentRegistered carries none, ms. */
const FALLBACK_HEARTBEAT_INTERVAL_MS = 5_000;

/**
 * Status codes that end the agent instead of a reconnect, because the same
 * RegisterAgent would fail again the same way. ALREADY_EXISTS is retried: it
 * is usually this agent's previous stream, which the server has not yet
 * noticed is gone.
 */
const FATAL_CODES: ReadonlySet<Status> = new Set([
  Status.INVALID_ARGUMENT,
  Status.FAILED_PRECONDITION,
  Status.UNIMPLEMENTED,
  Status.UNAUTHENTICATED,
  Status.PERMISSION_DENIED,
]);

/** A ConnectResponse kind other than AgentRegistered. */
export type AgentEvent = Exclude<ConnectResponse['kind'], { $case: 'registered' } | undefined>;

export interface AgentConnectionOptions {
  /** Server address, host:port. Ignored when channel is set. */
  server: string;
  /** Channel to share with other connections; the connection never closes it. */
  channel?: Channel;
  agentId: string;
  machineId: string;
  capacity: MachineCapacity;
  labels: Record<string, string>;
  /** Upper bound of the reconnect delay, ms. Default 30000. */
  maxReconnectBackoffMs?: number;
  /** TaskStatus reports kept while disconnected; the oldest are dropped beyond it. Default 10000. */
  statusBufferLimit?: number;
  logger: Logger;
  /** Attempts running now, for RegisterAgent and Heartbeat. */
  running: () => RunningAttempt[];
  /** Receives every server message after AgentRegistered. */
  onEvent: (event: AgentEvent) => void;
  /** Called after each successful registration, the first and every reconnect. */
  onRegistered?: (registered: AgentRegistered) => void;
  /** Called when a registered stream ends, before any reconnect. */
  onDisconnected?: () => void;
}

/**
 * The agent's link to the server, shared by runAgent and the AgentSession
 * SDK: opens Connect, registers, heartbeats at the server's interval, and
 * reconnects with exponential backoff and full jitter whenever the stream
 * ends or fails. TaskStatus reports made while disconnected are kept in order
 * (up to statusBufferLimit) and sent right after the next registration. A
 * follower replica's UNAVAILABLE that names the leader makes the next
 * attempt go to the leader at once.
 *
 * Timers: one per connection, the heartbeat interval while registered or the
 * backoff delay while disconnected, never both.
 */
export class AgentConnection {
  /** Resolves on the first registration; rejects on a fatal status or close() before it. */
  readonly registered: Promise<AgentRegistered>;
  /** Resolves when the connection ended by finish() or close(); rejects on a fatal status. */
  readonly done: Promise<void>;

  private readonly target: ServerTarget;
  private readonly logger: Logger;
  private readonly maxBackoffMs: number;

  private queue: RequestQueue<ConnectRequest> | undefined;
  private streamAbort: AbortController | undefined;
  private connected = false;
  private finishing = false;
  private closed = false;
  private started = false;

  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeatSequence = 0;
  private backoffTimer: NodeJS.Timeout | undefined;
  private wakeBackoff: (() => void) | undefined;

  private readonly statusBuffer: StatusBuffer;
  private drainRequest: ConnectRequest | undefined;

  private resolveRegistered!: (registered: AgentRegistered) => void;
  private rejectRegistered!: (error: Error) => void;
  private resolveDone!: () => void;
  private rejectDone!: (error: Error) => void;

  constructor(private readonly options: AgentConnectionOptions) {
    this.logger = options.logger;
    this.maxBackoffMs = options.maxReconnectBackoffMs ?? DEFAULT_MAX_RECONNECT_BACKOFF_MS;
    this.statusBuffer = new StatusBuffer(options.statusBufferLimit ?? DEFAULT_STATUS_BUFFER_LIMIT, options.logger);
    this.target = new ServerTarget(options.server, options.channel, options.logger);

    this.registered = new Promise((resolve, reject) => {
      this.resolveRegistered = resolve;
      this.rejectRegistered = reject;
    });
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // Callers may await only one of the two; the other must not crash the
    // process with an unhandled rejection.
    this.registered.catch(() => {});
    this.done.catch(() => {});
  }

  /** Starts connecting in the background. */
  start(): void {
    if (this.started) {
      return;
    }
    this.started = true;
    void this.run();
  }

  /** True while a stream is open and registered. */
  get isConnected(): boolean {
    return this.connected;
  }

  /** Sends a TaskStatus now, or keeps it for after the next registration. */
  reportStatus(status: TaskStatus): void {
    if (this.connected && this.queue?.push({ kind: { $case: 'taskStatus', taskStatus: status } }) === true) {
      return;
    }
    this.statusBuffer.append([status]);
  }

  /** Sends a message on the registered stream. Returns false, without sending, when disconnected. */
  trySend(request: ConnectRequest): boolean {
    return this.connected && this.queue?.push(request) === true;
  }

  /** Sends Drain now if connected, and again after every later registration. */
  announceDrain(drain: Drain): void {
    this.drainRequest = { kind: { $case: 'drain', drain } };
    this.trySend(this.drainRequest);
  }

  /**
   * Half-closes the stream once buffered reports are sent, and resolves when
   * the server has ended it. Gives up after timeoutMs: then the stream is
   * cancelled and unsent reports are logged as lost.
   */
  async finish(timeoutMs: number): Promise<void> {
    if (this.closed) {
      return;
    }
    this.finishing = true;
    if (this.connected) {
      this.queue?.end();
    } else if (this.statusBuffer.length === 0) {
      // Nothing to deliver: waiting for a server that may stay down would
      // only delay the exit. The server then records a lost agent, not a drain.
      this.logger.info('not connected and no reports to send; closing without waiting for the server');
      this.close();
      return;
    }

    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), timeoutMs);
    });
    const ended = this.done.then(
      () => false,
      () => false,
    );
    const gaveUp = await Promise.race([ended, timedOut]);
    clearTimeout(timer);

    if (gaveUp) {
      this.logger.warn({ timeoutMs, unsentStatuses: this.statusBuffer.length }, 'server did not end the stream after half-close in time; closing it');
      this.close();
    }
  }

  /** Cancels the stream and stops reconnecting, at once. Buffered reports are discarded. */
  close(): void {
    if (this.closed) {
      return;
    }
    this.closed = true;
    this.stopHeartbeat();
    clearTimeout(this.backoffTimer);
    this.wakeBackoff?.();
    this.streamAbort?.abort();
    this.queue?.close();
    this.target.close();
    this.rejectRegistered(new Error('agent connection closed before the server registered the agent'));
    this.resolveDone();
  }

  private async run(): Promise<void> {
    let failures = 0;

    while (!this.closed) {
      const outcome = await this.openStream();
      if (this.closed) {
        break;
      }
      if (outcome.registered) {
        failures = 0;
      }
      if (outcome.error === undefined && this.finishing) {
        this.logger.info('stream ended after drain');
        break;
      }

      const error = outcome.error ?? new Error('server ended the stream');
      if (error instanceof ClientError && FATAL_CODES.has(error.code)) {
        this.logger.error({ err: error, code: Status[error.code] }, 'server rejected the agent; not reconnecting');
        this.stopAfterFatal(error);
        return;
      }

      // A follower named the leader: go there at once, without backoff.
      if (outcome.leader !== undefined && error instanceof ClientError && error.code === Status.UNAVAILABLE && this.target.followLeader(outcome.leader)) {
        continue;
      }
      if (!outcome.registered) {
        this.target.fallBack();
      }

      const delayMs = computeBackoffDelay(failures, this.maxBackoffMs);
      failures += 1;
      logReconnect(this.logger, error, { delayMs, failures, wasRegistered: outcome.registered });
      await this.sleep(delayMs);
    }

    this.close();
  }

  /** Runs one Connect stream until it ends, and returns its error instead of throwing it. */
  private async openStream(): Promise<{ registered: boolean; error: Error | undefined; leader: string | undefined }> {
    const queue = new RequestQueue<ConnectRequest>();
    const abort = new AbortController();
    this.queue = queue;
    this.streamAbort = abort;
    this.heartbeatSequence = 0;

    const { agentId, machineId, capacity, labels } = this.options;
    queue.push({
      kind: {
        $case: 'register',
        register: { agentId, machineId, capacity, labels, running: this.registerRunning(), protocolVersion: PROTOCOL_VERSION },
      },
    });
    this.logger.debug({ server: this.target.address }, 'connecting');

    let registered = false;
    let error: Error | undefined;
    let leader: string | undefined;
    const onTrailer = (trailer: Metadata): void => {
      leader = trailer.get(LEADER_METADATA_KEY) || undefined;
    };
    try {
      for await (const response of this.target.client.connect(queue, { signal: abort.signal, onTrailer })) {
        const kind = response.kind;
        if (kind === undefined) {
          this.logger.warn('ignored a server message with no kind set');
        } else if (kind.$case === 'registered') {
          if (registered) {
            this.logger.warn('ignored a second AgentRegistered on the same stream');
            continue;
          }
          registered = true;
          this.onRegistered(queue, kind.registered);
        } else if (!registered) {
          throw new Error(`protocol error: server sent ${kind.$case} before AgentRegistered`);
        } else {
          this.options.onEvent(kind);
        }
      }
    } catch (err) {
      error = err instanceof Error ? err : new Error(String(err));
    }

    const wasConnected = this.connected;
    this.connected = false;
    this.stopHeartbeat();
    const unsent = queue.close();
    if (!this.closed) {
      // Reports never handed to gRPC go back to the buffer, ahead of newer ones.
      const unsentStatuses: TaskStatus[] = [];
      for (const request of unsent) {
        if (request.kind?.$case === 'taskStatus') {
          unsentStatuses.push(request.kind.taskStatus);
        }
      }
      this.statusBuffer.prepend(unsentStatuses);
    }
    if (wasConnected) {
      this.options.onDisconnected?.();
    }
    return { registered, error: this.closed ? undefined : error, leader };
  }

  private onRegistered(queue: RequestQueue<ConnectRequest>, registered: AgentRegistered): void {
    const intervalMs = durationToMs(registered.heartbeatInterval) || FALLBACK_HEARTBEAT_INTERVAL_MS;
    this.logger.info(
      {
        serverId: registered.serverId,
        heartbeatIntervalMs: intervalMs,
        adopted: registered.adopted.length,
        bufferedStatuses: this.statusBuffer.length,
        droppedStatuses: this.statusBuffer.dropped || undefined,
      },
      'registered with the server',
    );

    this.connected = true;
    if (this.drainRequest !== undefined) {
      queue.push(this.drainRequest);
    }
    for (const status of this.statusBuffer.takeAll()) {
      queue.push({ kind: { $case: 'taskStatus', taskStatus: status } });
    }
    if (this.finishing) {
      queue.end();
    }

    this.heartbeatTimer = setInterval(this.sendHeartbeat, intervalMs);
    this.resolveRegistered(registered);
    this.options.onRegistered?.(registered);
  }

  /**
   * Lists the attempts for RegisterAgent.running: those running now plus
   * those whose final report is still buffered. The server ends an assigned
   * attempt that a registering agent does not list as lost, so an attempt
   * that finished while disconnected must be listed until its final report,
   * sent right after registration, reaches the server.
   */
  private registerRunning(): RunningAttempt[] {
    const running = this.options.running();
    if (this.statusBuffer.length === 0) {
      return running;
    }

    const listed = new Set(running.map(({ taskId, attempt }) => `${taskId}#${attempt}`));
    const buffered = this.statusBuffer.attempts().filter(({ taskId, attempt }) => !listed.has(`${taskId}#${attempt}`));
    return [...running, ...buffered];
  }

  // An arrow property so that setInterval gets the same function every time.
  private readonly sendHeartbeat = (): void => {
    this.heartbeatSequence += 1;
    this.queue?.push({ kind: { $case: 'heartbeat', heartbeat: { sequence: this.heartbeatSequence, running: this.options.running() } } });
  };

  private stopHeartbeat(): void {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wakeBackoff = () => {
        this.wakeBackoff = undefined;
        resolve();
      };
      this.backoffTimer = setTimeout(this.wakeBackoff, ms);
    });
  }

  private stopAfterFatal(error: ClientError): void {
    this.closed = true;
    this.stopHeartbeat();
    this.target.close();
    const message = `server rejected agent ${this.options.agentId}: ${Status[error.code]}: ${error.details}`;
    const fatal = Object.assign(new Error(message, { cause: error }), { code: Status[error.code] });
    this.rejectRegistered(fatal);
    this.rejectDone(fatal);
  }
}
