import { ServerError, Status, type CallContext, type ServerMiddlewareCall } from 'nice-grpc';
import type { Leadership } from '../ha/Leadership.js';

/** Trailer key carrying the leader's address on UNAVAILABLE from a follower. */
export const LEADER_METADATA_KEY = 'machinehub-leader';

/** Services a follower still serves: health checks and reflection. */
const ALWAYS_OPEN = ['/grpc.health.v1.Health/', '/grpc.reflection.'];

/**
 * Rejects machinehub calls on a replica that is not serving (a follower, or a
 * leader still loading its state) with UNAVAILABLE
 * and the leader's address in the `machinehub-leader` trailer, so clients
 * and agents can follow it.
 */
export function leaderGate(leadership: Leadership, isServing: () => boolean) {
  return async function* gate<Request, Response>(
    call: ServerMiddlewareCall<Request, Response>,
    context: CallContext,
  ): AsyncGenerator<Response, Response | void, undefined> {
    if (!isServing() && !ALWAYS_OPEN.some((prefix) => call.method.path.startsWith(prefix))) {
      const leader = leadership.leaderAddress();
      if (leader) context.trailer.set(LEADER_METADATA_KEY, leader);
      throw new ServerError(
        Status.UNAVAILABLE,
        leader ? `this replica is a follower; the leader is ${leader}` : 'the server is not serving yet; retry shortly',
      );
    }
    return yield* call.next(call.request, context);
  };
}


