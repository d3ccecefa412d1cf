/**
 * Entry point of the machinehub command, run by bin/machinehub.js. Sets the
 * exit status instead of calling process.exit, so buffered output and open
 * servers finish first.
 *
 * cli/ owns the command line: argument parsing, output and exit statuses.
 * It talks to servers through client/ only, and imports server/ and agent/
 * lazily, in the server and agent commands.
 */
import { runCli } from './runCli.js';

// A reader that closed the pipe early, as in `machinehub tasks watch | head -3`,
// wants no more output, so the command stops quietly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') {
    process.exit(0);
  }
  reportUncaught(error);
});

// runCli turns every error of a command into one line. These handlers catch
// the rest (errors thrown from timers or event handlers), still without a
// stack trace.
process.on('uncaughtException', reportUncaught);
process.on('unhandledRejection', reportUncaught);

function reportUncaught(error: unknown): void {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  process.stderr.write(`machinehub: internal error: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
  process.exit(1);
}

process.exitCode = await runCli(process.argv.slice(2));
