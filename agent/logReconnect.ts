import { ClientError, Status } from 'nice-grpc';
import type { Logger } from 'pino';

/**
 * Logs a reconnect. A lost stream and the first three failed attempts are
 * warnings, and after that only every tenth, so that a server down for an
 * hour does not fill the log. Network errors carry no useful stack, so only
 * the message and status code are logged.
 */
export function logReconnect(
  logger: Logger,
  error: Error,
  attempt: { delayMs: number; failures: number; wasRegistered: boolean },
): void {
  const fields = {
    error: error.message,
    code: error instanceof ClientError ? Status[error.code] : undefined,
    delayMs: attempt.delayMs,
    failures: attempt.failures,
  };
  if (attempt.wasRegistered) {
    logger.warn(fields, 'lost the agent stream; reconnecting');
  } else if (attempt.failures <= 3 || attempt.failures % 10 === 0) {
    logger.warn(fields, 'failed to connect to the server; retrying');
  } else {
    logger.debug(fields, 'failed to connect to the server; retrying');
  }
}
