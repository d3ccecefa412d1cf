/**
 * Entry point of the machinehub command, run by bin/machinehub.js. Sets the
 * exit status instead of calling process.exit, so buffered output and open
 * servers finish first.
 */
import { runCli } from './runCli.js';

process.exitCode = await runCli(process.argv.slice(2));
