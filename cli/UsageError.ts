/**
 * Invalid command-line input. The CLI prints its message as one line and
 * exits with status 2, the usual status for usage errors.
 */
export class UsageError extends Error {
  override name = 'UsageError';
}
