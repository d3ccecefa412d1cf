import { ClientError, Status } from 'nice-grpc';
import { UsageError } from './UsageError.js';

/** Exit status for usage errors, as most command-line tools use. */
export const EXIT_USAGE = 2;
/** Exit status for every other failure. */
export const EXIT_FAILURE = 1;

/**
 * Turns any error into one line for standard error and an exit status. gRPC
 * errors keep the server's message and end with the status name, such as
 * "(NOT_FOUND)". Stack traces are never shown, because the line is for
 * operators and scripts.
 */
export function describeError(error: unknown, server: string): { message: string; exitCode: number } {
  if (error instanceof UsageError) {
    return { message: error.message, exitCode: EXIT_USAGE };
  }
  if (error instanceof ClientError) {
    const statusName = Status[error.code] ?? String(error.code);
    const details = oneLine(error.details);
    if (error.code === Status.UNAVAILABLE) {
      return { message: `cannot reach server ${server}: ${details} (${statusName})`, exitCode: EXIT_FAILURE };
    }
    return { message: `${details} (${statusName})`, exitCode: EXIT_FAILURE };
  }
  if (error instanceof Error) {
    const message = oneLine(error.message);
    const code = (error as NodeJS.ErrnoException).code;
    const suffix = code === undefined || message.includes(code) ? '' : ` (${code})`;
    return { message: `${message}${suffix}`, exitCode: EXIT_FAILURE };
  }
  return { message: oneLine(String(error)), exitCode: EXIT_FAILURE };
}

function oneLine(text: string): string {
  // grpc-js 1.14 ends connection errors with an empty "Resolution note:".
  return text.replace(/\s*\n\s*/g, ' ').replace(/\s*Resolution note:\s*$/, '').trim();
}
