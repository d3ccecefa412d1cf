import { ClientError, Status, createClient, type Channel } from 'nice-grpc';
import type { Logger } from 'pino';

import {
  AgentServiceDefinition,
  type AgentRegistered,
  type ConnectRequest,
  type ConnectResponse,
  type Drain,
  type RunningAttempt,
  type TaskStatus,
} from '../gen/machinehub/agent/v1/agent.js';
import type { MachineCapacity } from '../gen/machinehub/machine/v1/machine.js';
import { computeBackoffDelay, DEFAULT_MAX_RECONNECT_BACKOFF_MS } from './computeBackoffDelay.js';
import { createAgentChannel } from './createAgentChannel.js';
import { durationToMs } from './durations.js';
import { RequestQueue } from './RequestQueue.js';

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
 * (up to statusBufferLimit) and sent right after the next registration.
 *
 * Timers: one per connection, the heartbeat interval while registered or the
 * backoff delay while disconnected, never both.
 */
export class AgentConnection {
  /** Resolves on the first registration; rejects on a fatal status or close() before it. */
  readonly registered: Promise<AgentRegistered>;
  /** Resolves when the connection ended by finish() or close(); rejects on a fatal status. */
  readonly done: Promise<void>;

  private readonly client;
  private readonly ownsChannel: boolean;
  private readonly channel: Channel;
  private readonly logger: Logger;
  private readonly maxBackoffMs: number;
  private readonly statusBufferLimit: number;

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

  private statusBuffer: ConnectRequest[] = [];
  private droppedStatuses = 0;
  private drainRequest: ConnectRequest | undefined;

  private resolveRegistered!: (registered: AgentRegistered) => void;
  private rejectRegistered!: (error: Error) => void;
  private resolveDone!: () => void;
  private rejectDone!: (error: Error) => void;

  constructor(private readonly options: AgentConnectionOptions) {
    this.logger = options.logger;
    this.maxBackoffMs = options.maxReconnectBackoffMs ?? DEFAULT_MAX_RECONNECT_BACKOFF_MS;
    this.statusBufferLimit = options.statusBufferLimit ?? DEFAULT_STATUS_BUFFER_LIMIT;
    this.ownsChannel = options.channel === undefined;
    this.channel = options.channel ?? createAgentChannel(options.server);
    this.client = createClient(AgentServiceDefinition, this.channel);

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
    const request: ConnectRequest = { kind: { $case: 'taskStatus', taskStatus: status } };
    if (this.connected && this.queue?.push(request) === true) {
      return;
    }
    this.bufferStatuses([request]);
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
    if (this.ownsChannel) {
      this.channel.close();
    }
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

      const delayMs = computeBackoffDelay(failures, this.maxBackoffMs);
      failures += 1;
      this.logReconnect(error, delayMs, failures, outcome.registered);
      await this.sleep(delayMs);
    }

    this.close();
  }

  /**
   * Logs a reconnect. A lost stream and the first three failed attempts are
   * warnings, and after that only every tenth, so that a server down for an
   * hour does not fill the log. Network errors carry no useful stack, so
   * only the message and status code are logged.
   */
  private logReconnect(error: Error, delayMs: number, failures: number, wasRegistered: boolean): void {
    const fields = {
      error: error.message,
      code: error instanceof ClientError ? Status[error.code] : undefined,
      delayMs,
      failures,
    };
    if (wasRegistered) {
      this.logger.warn(fields, 'lost the agent stream; reconnecting');
    } else if (failures <= 3 || failures % 10 === 0) {
      this.logger.warn(fields, 'failed to connect to the server; retrying');
    } else {
      this.logger.debug(fields, 'failed to connect to the server; retrying');
    }
  }

  /** Runs one Connect stream until it ends, and returns its error instead of throwing it. */
  private async openStream(): Promise<{ registered: boolean; error: Error | undefined }> {
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
    this.logger.debug({ server: this.options.server }, 'connecting');

    let registered = false;
    let error: Error | undefined;
    try {
      for await (const response of this.client.connect(queue, { signal: abort.signal })) {
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
      this.bufferStatuses(unsent.filter((request) => request.kind?.$case === 'taskStatus'), true);
    }
    if (wasConnected) {
      this.options.onDisconnected?.();
    }
    return { registered, error: this.closed ? undefined : error };
  }

  private onRegistered(queue: RequestQueue<ConnectRequest>, registered: AgentRegistered): void {
    const intervalMs = durationToMs(registered.heartbeatInterval) || FALLBACK_HEARTBEAT_INTERVAL_MS;
    this.logger.info(
      {
        serverId: registered.serverId,
        heartbeatIntervalMs: intervalMs,
        adopted: registered.adopted.length,
        bufferedStatuses: this.statusBuffer.length,
        droppedStatuses: this.droppedStatuses || undefined,
      },
      'registered with the server',
    );

    this.connected = true;
    if (this.drainRequest !== undefined) {
      queue.push(this.drainRequest);
    }
    const buffered = this.statusBuffer;
    this.statusBuffer = [];
    this.droppedStatuses = 0;
    for (const request of buffered) {
      queue.push(request);
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
    const result = [...running];
    for (const request of this.statusBuffer) {
      if (request.kind?.$case !== 'taskStatus') {
        continue;
      }
      const { taskId, attempt } = request.kind.taskStatus;
      const key = `${taskId}#${attempt}`;
      if (!listed.has(key)) {
        listed.add(key);
        result.push({ taskId, attempt });
      }
    }
    return result;
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

  private bufferStatuses(requests: ConnectRequest[], atFront = false): void {
    if (requests.length === 0) {
      return;
    }
    this.statusBuffer = atFront ? [...requests, ...this.statusBuffer] : this.statusBuffer.concat(requests);

    const excess = this.statusBuffer.length - this.statusBufferLimit;
    if (excess > 0) {
      // Dropping the oldest keeps the latest state of each attempt, which is
      // what the server acts on.
      this.statusBuffer.splice(0, excess);
      if (this.droppedStatuses === 0) {
        this.logger.warn({ limit: this.statusBufferLimit }, 'status buffer full while disconnected; dropping the oldest reports');
      }
      this.droppedStatuses += excess;
    }
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
    if (this.ownsChannel) {
      this.channel.close();
    }
    const message = `server rejected agent ${this.options.agentId}: ${Status[error.code]}: ${error.details}`;
    const fatal = Object.assign(new Error(message, { cause: error }), { code: Status[error.code] });
    this.rejectRegistered(fatal);
    this.rejectDone(fatal);
  }
}
