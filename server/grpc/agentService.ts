import type { CallContext, ServiceImplementation } from 'nice-grpc';
import type { Logger } from 'pino';
import type { AgentServiceDefinition, ConnectRequest, ConnectResponse } from '../../gen/machinehub/agent/v1/agent.js';
import type { AgentHub } from '../control/AgentHub.js';
import type { ControlPlane } from '../control/ControlPlane.js';
import { ApiError, invalidArgument, unavailable } from '../errors.js';
import { AgentSession } from './AgentSession.js';
import { decodeError, isDecodeFailure } from './decodeFailures.js';

/** Time an agent has to send RegisterAgent after opening its stream. */
const REGISTER_TIMEOUT_MS = 30_000;
/** Sender of SendAgentMessage when the request names none. */
const DEFAULT_CLIENT_SENDER = 'client';

/** AgentService handlers; Connect is the protocol described in agent.proto. */
export function agentService(
  plane: ControlPlane,
  hub: AgentHub,
  logger: Logger,
): ServiceImplementation<typeof AgentServiceDefinition> {
  return {
    async *connect(requests: AsyncIterable<ConnectRequest>, context: CallContext): AsyncGenerator<ConnectResponse> {
      const iterator = requests[Symbol.asyncIterator]();
      const first = await firstMessage(iterator, context.signal);
      if (first === undefined) return;
      if (isDecodeFailure(first)) throw decodeError(first);
      if (first.kind?.$case !== 'register') {
        throw invalidArgument(`first message: expected register, got ${first.kind?.$case ?? 'an empty message'}`);
      }
      const register = first.kind.register;
      const session = new AgentSession(
        register.agentId,
        register.machineId || register.agentId,
        context.peer,
        logger.child({ agentId: register.agentId, peer: context.peer }),
      );
      yield hub.register(register, session);

      const onAbort = () => endSafely(hub, session, 'stream cancelled by the agent or the network');
      context.signal.addEventListener('abort', onAbort);
      void readLoop(iterator, session, plane, hub, context.signal);
      try {
        yield* session.outbound.drain();
      } finally {
        context.signal.removeEventListener('abort', onAbort);
        endSafely(hub, session, session.closeReason ?? 'server stopped writing');
      }
      if (session.closeReason && !context.signal.aborted && !session.cleanEnd) {
        throw new ApiError(session.closeCode, session.closeReason);
      }
    },

    async listAgents() {
      return { agents: hub.list() };
    },

    async sendAgentMessage(request) {
      if (request.from.length > 128) throw invalidArgument(`from: ${request.from.length} characters, limit is 128`);
      const messageId = await hub.deliver(request.toAgentId, request.from || DEFAULT_CLIENT_SENDER, request.topic, request.payload);
      return { messageId };
    },
  };
}

/** Waits for RegisterAgent; undefined when the agent closed first. */
async function firstMessage(
  iterator: AsyncIterator<ConnectRequest>,
  signal: AbortSignal,
): Promise<ConnectRequest | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(unavailable(`no register message within ${REGISTER_TIMEOUT_MS} ms of opening the stream`)),
      REGISTER_TIMEOUT_MS,
    );
  });
  try {
    const next = await Promise.race([iterator.next(), timeout]);
    return next.done || signal.aborted ? undefined : next.value;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads the agent's messages in order until the stream ends. Each message is
 * handled before the next is read, so a slow receiver of this agent's
 * messages holds back this stream (HTTP/2 flow control) instead of queueing
 * without bound. A handler bug is logged and the stream goes on.
 */
async function readLoop(
  iterator: AsyncIterator<ConnectRequest>,
  session: AgentSession,
  plane: ControlPlane,
  hub: AgentHub,
  signal: AbortSignal,
): Promise<void> {
  let cause = 'the agent closed the stream';
  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done || session.closed) break;
      try {
        await handle(next.value, session, plane, hub);
      } catch (error) {
        if (error instanceof ApiError) {
          session.close(error.message, error.code);
          break;
        }
        session.log.error({ err: error }, 'failed to handle an agent message');
      }
    }
  } catch (error) {
    cause = `stream failed: ${(error as Error).message}`;
  }
  // A cancelled call also ends the request stream; only a half-close after
  // the agent's own Drain on this stream is a clean end.
  if (signal.aborted) cause = 'stream cancelled by the agent or the network';
  else if (hub.isCurrent(session) && session.sentDrain && cause === 'the agent closed the stream') session.cleanEnd = true;
  endSafely(hub, session, cause);
}

/** Ends a session from a callback, where an exception would escape as uncaught and stop the process. */
function endSafely(hub: AgentHub, session: AgentSession, cause: string): void {
  try {
    hub.streamEnded(session, cause);
  } catch (error) {
    session.log.error({ err: error }, 'failed to clean up after a stream ended');
  }
}

async function handle(request: ConnectRequest, session: AgentSession, plane: ControlPlane, hub: AgentHub): Promise<void> {
  if (isDecodeFailure(request)) throw decodeError(request);
  const kind = request.kind;
  if (!hub.isCurrent(session)) return;
  // Any message proves the agent alive, not only heartbeats queued behind it.
  hub.touch(session);
  switch (kind?.$case) {
    case 'heartbeat':
      hub.heartbeat(session, kind.heartbeat.running);
      return;
    case 'taskStatus':
      plane.applyStatus(session.machineId, kind.taskStatus);
      return;
    case 'sendMessage': {
      session.heldBack = true;
      try {
        const result = await hub.route(session, kind.sendMessage);
        // Waits while the sender's own queue is full: it must read results to send more.
        while (!session.closed && !(await session.sendData(result, 0, 1_000)));
      } finally {
        session.heldBack = false;
      }
      return;
    }
    case 'drain':
      session.sentDrain = true;
      hub.drain(session);
      return;
    case 'register':
      throw invalidArgument('register: sent twice on one stream; open a new stream to register again');
    default:
      throw invalidArgument('kind: empty message; set one of heartbeat, task_status, send_message, drain');
  }
}
