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

process.exitCode = await runCli(process.argv.slice(2));
