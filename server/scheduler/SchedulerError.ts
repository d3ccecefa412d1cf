/** Kind of caller mistake, so the server can pick a gRPC status without parsing messages. */
export type SchedulerErrorCode = 'invalid_argument' | 'already_exists' | 'not_found';

/**
 * Error thrown by `Scheduler` for invalid calls: a duplicate or unknown id,
 * or a demand or machine spec that fails validation. The scheduler throws
 * nothing else on purpose.
 */
export class SchedulerError extends Error {
  override readonly name = 'SchedulerError';

  constructor(
    message: string,
    readonly code: SchedulerErrorCode = 'invalid_argument',
  ) {
    super(message);
  }
}
