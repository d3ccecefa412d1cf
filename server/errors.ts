import { Status } from 'nice-grpc';

/**
 * An error a handler may throw on purpose. `code` is the gRPC status the
 * client sees and `message` goes out unchanged, so it must name the field, the
 * value and the limit, and never carry internals.
 */
export class ApiError extends Error {
  constructor(
    readonly code: Status,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const invalidArgument = (message: string): ApiError => new ApiError(Status.INVALID_ARGUMENT, message);
export const notFound = (message: string): ApiError => new ApiError(Status.NOT_FOUND, message);
export const alreadyExists = (message: string): ApiError => new ApiError(Status.ALREADY_EXISTS, message);
export const failedPrecondition = (message: string): ApiError =>
  new ApiError(Status.FAILED_PRECONDITION, message);
export const resourceExhausted = (message: string): ApiError =>
  new ApiError(Status.RESOURCE_EXHAUSTED, message);
export const unavailable = (message: string): ApiError => new ApiError(Status.UNAVAILABLE, message);
