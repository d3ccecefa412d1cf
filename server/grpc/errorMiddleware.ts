import { ServerError, Status, type CallContext, type ServerMiddlewareCall } from 'nice-grpc';
import { isAbortError } from 'abort-controller-x';
import type { Logger } from 'pino';
import { ApiError } from '../errors.js';
import { decodeError, isDecodeFailure } from './decodeFailures.js';

/**
 * Maps what handlers throw to a gRPC status. ApiError keeps its code and
 * message; anything else is a bug: it is logged with its stack and the client
 * sees INTERNAL with no internals.
 */
export function errorMiddleware(logger: Logger) {
  return async function* mapErrors<Request, Response>(
    call: ServerMiddlewareCall<Request, Response>,
    context: CallContext,
  ): AsyncGenerator<Response, Response | void, undefined> {
    try {
      if (!call.method.requestStream && isDecodeFailure(call.request)) throw decodeError(call.request);
      return yield* call.next(call.request, context);
    } catch (error) {
      if (error instanceof ApiError) {
        logger.debug({ method: call.method.path, code: Status[error.code], message: error.message }, 'request rejected');
        throw new ServerError(error.code, error.message);
      }
      if (error instanceof ServerError || isAbortError(error)) throw error;
      logger.error({ err: error, method: call.method.path }, 'unexpected error in a handler');
      throw new ServerError(Status.INTERNAL, 'internal error; the server log has the details');
    }
  };
}
