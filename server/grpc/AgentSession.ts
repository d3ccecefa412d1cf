import type { Logger } from 'pino';
import type { ConnectResponse } from '../../gen/machinehub/agent/v1/agent.js';
import type { AgentLink } from '../control/MachineTable.js';
import { OutboundQueue } from './OutboundQueue.js';

/**
 * Most agent-to-agent messages waiting for one agent. At 1 KiB each this caps
 * a slow receiver's backlog near 4 MiB of payload.
 */
export const MAX_QUEUED_MESSAGES = 4096;

/** One open Connect stream: its outbound queue and how it ended. */
export class AgentSession implements AgentLink {
  readonly outbound = new OutboundQueue<ConnectResponse>(MAX_QUEUED_MESSAGES);
  /** Set when the server ends the stream on purpose; sent to the agent as the status. */
  closeReason: string | undefined;
  /** True when the agent half-closed after a drain: the stream ends with OK. */
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
    this.outbound.pushControl(message);
  }

  /** Queues a data message, waiting up to `timeoutMs` for room; false when full or closed. */
  sendData(message: ConnectResponse, timeoutMs: number): Promise<boolean> {
    return this.outbound.pushData(message, timeoutMs);
  }

  close(reason: string): void {
    if (this.abort.signal.aborted) return;
    this.closeReason = reason;
    this.outbound.close();
    this.abort.abort();
  }

  get closed(): boolean {
    return this.abort.signal.aborted;
  }
}
