import { ClientError, Status, type CallOptions, type Client, type CompatServiceDefinition, type Metadata } from 'nice-grpc';
import type { LeaderFollowingConnection } from './LeaderFollowingConnection.js';

/**
 * Trailer metadata key in which a server that is not the leader names the
 * leader's host:port, alongside status UNAVAILABLE.
 */
export const LEADER_METADATA_KEY = 'machinehub-leader';

type AnyMethod = (request: unknown, options?: CallOptions) => unknown;

/**
 * Creates a client of `definition` whose calls follow the leader. A call that
 * fails with UNAVAILABLE, with trailers naming a leader under
 * LEADER_METADATA_KEY other than the address the call went to, switches the
 * connection to that leader and is sent once more. A second failure is thrown
 * as it is, so a client never loops between replicas.
 *
 * Unary calls are retried whole. A server-streaming call is retried only when
 * it failed before its first response, so no response is delivered twice.
 * Client- and bidi-streaming calls are never retried, because their request
 * stream cannot be replayed; their callers see the UNAVAILABLE error.
 */
export function followLeader<Service extends CompatServiceDefinition>(
  definition: Service,
  connection: LeaderFollowingConnection,
): Client<Service> {
  const methods = definitionMethods(definition);
  const client: Record<string, AnyMethod> = {};

  for (const [name, method] of Object.entries(methods)) {
    const current = (): AnyMethod => (connection.clientFor(definition) as unknown as Record<string, AnyMethod>)[name]!;

    if (method.requestStream) {
      client[name] = (request, options) => current()(request, options);
    } else if (method.responseStream) {
      client[name] = (request, options) => streamFollowingLeader(connection, current, request, options);
    } else {
      client[name] = (request, options) => callFollowingLeader(connection, current, request, options);
    }
  }
  return client as unknown as Client<Service>;
}

async function callFollowingLeader(
  connection: LeaderFollowingConnection,
  current: () => AnyMethod,
  request: unknown,
  options: CallOptions | undefined,
): Promise<unknown> {
  const firstAddress = connection.address;
  const trailers = recordTrailers(options);
  try {
    return await current()(request, trailers.options);
  } catch (error) {
    const leader = leaderAddress(error, trailers.last());
    if (leader === undefined || leader === firstAddress) {
      throw error;
    }
    connection.switchTo(leader);
    return await current()(request, options);
  }
}

async function* streamFollowingLeader(
  connection: LeaderFollowingConnection,
  current: () => AnyMethod,
  request: unknown,
  options: CallOptions | undefined,
): AsyncGenerator<unknown, void, undefined> {
  const firstAddress = connection.address;
  const trailers = recordTrailers(options);
  let received = false;
  try {
    for await (const response of current()(request, trailers.options) as AsyncIterable<unknown>) {
      received = true;
      yield response;
    }
    return;
  } catch (error) {
    const leader = leaderAddress(error, trailers.last());
    if (received || leader === undefined || leader === firstAddress) {
      throw error;
    }
    connection.switchTo(leader);
  }
  yield* current()(request, options) as AsyncIterable<unknown>;
}

/** Wraps options so that the call's trailers are kept, still passing them to the caller's onTrailer. */
function recordTrailers(options: CallOptions | undefined): { options: CallOptions; last(): Metadata | undefined } {
  let trailer: Metadata | undefined;
  return {
    options: {
      ...options,
      onTrailer(metadata) {
        trailer = metadata;
        options?.onTrailer?.(metadata);
      },
    },
    last: () => trailer,
  };
}

/** Returns the leader named by an UNAVAILABLE error's trailers, or undefined. */
function leaderAddress(error: unknown, trailer: Metadata | undefined): string | undefined {
  if (!(error instanceof ClientError) || error.code !== Status.UNAVAILABLE) {
    return undefined;
  }
  const leader = trailer?.get(LEADER_METADATA_KEY)?.trim();
  return leader === undefined || leader === '' ? undefined : leader;
}

/** Returns the method table of a ts-proto generic definition or a grpc-js service definition. */
function definitionMethods(
  definition: CompatServiceDefinition,
): Record<string, { requestStream: boolean; responseStream: boolean }> {
  if ('methods' in definition && typeof definition.methods === 'object') {
    return definition.methods as Record<string, { requestStream: boolean; responseStream: boolean }>;
  }
  return definition as unknown as Record<string, { requestStream: boolean; responseStream: boolean }>;
}
