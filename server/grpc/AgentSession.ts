import { Status } from 'nice-grpc';
import type { Logger } from 'pino';
import type { ConnectResponse } from '../../gen/machinehub/agent/v1/agent.js';
import type { AgentLink } from '../control/MachineTable.js';
import { OutboundQueue } from './OutboundQueue.js';

/** Most agent-to-agent messages waiting for one agent. */
export const MAX_QUEUED_MESSAGES = 4096;
/** Most payload bytes waiting for one agent: four messages at the 4 MiB limit. */
export const MAX_QUEUED_BYTES = 16 * 1024 * 1024;
/**
 * Most control messages waiting for one agent. A machine's tasks need far
 * fewer; reaching it means the agent stopped reading its stream.
 */
export const MAX_QUEUED_CONTROL = 100_000;

/** One open Connect stream: its outbound queue and how it ended. */
export class AgentSession implements AgentLink {
  readonly outbound = new OutboundQueue<ConnectResponse>(MAX_QUEUED_MESSAGES, MAX_QUEUED_BYTES, MAX_QUEUED_CONTROL);
  /** Set when the server ends the stream on purpose; sent to the agent as the status. */
  closeReason: string | undefined;
  /**
   * Status code the stream ends with. UNAVAILABLE, the default, makes the
   * agent reconnect; protocol errors and removal use codes it does not retry.
   */
  closeCode: Status = Status.UNAVAILABLE;
  /** True once the agent sent Drain on this stream. */
  sentDrain = false;
  /** True when the agent half-closed after its Drain: the stream ends with OK. */
  cleanEnd = false;
  /**
   * True while the server holds back reading this stream because a receiver's
   * queue is full. The agent's heartbeats then wait behind its own messages,
   * so the lease must not expire for it; gRPC keepalive still detects a dead
   * connection meanwhile.
   */
  heldBack = false;
  private readonly abort = new AbortController();

  constructor(
    readonly agentId: string,
    readonly machineId: string,
    readonly peer: string,
    readonly log: Logger,
  ) {}

  /** Fires when the session ends, from either side. */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  sendControl(message: ConnectResponse): void {
    if (!this.outbound.pushControl(message)) {
      this.log.warn({ queued: this.outbound.size }, 'agent stopped reading its stream; closing it');
      this.close(`${MAX_QUEUED_CONTROL} control messages are waiting unread`, Status.RESOURCE_EXHAUSTED);
    }
  }

  /**
   * Queues a data message of `bytes` payload bytes, waiting up to
   * `timeoutMs` for room; false when full or closed.
   */
  sendData(message: ConnectResponse, bytes: number, timeoutMs: number): Promise<boolean> {
    return this.outbound.pushData(message, bytes, timeoutMs);
  }

  close(reason: string, code: Status = Status.UNAVAILABLE): void {
    if (this.abort.signal.aborted) return;
    this.closeReason = reason;
    this.closeCode = code;
    this.outbound.close();
    this.abort.abort();
  }

  get closed(): boolean {
    return this.abort.signal.aborted;
  }
}
