/**
 * Child-process entry point of the crash and failover harness: starts one
 * server with the ServerOptions given as JSON in argv[2], prints
 * `{"address": ...}` on stdout once it listens, and closes gracefully on
 * SIGTERM. The harness ends it with SIGKILL to simulate a crash.
 */
import { startServer, type ServerOptions } from '../../../server/index.js';

const options = JSON.parse(process.argv[2] ?? '{}') as ServerOptions;
const server = await startServer(options);
process.stdout.write(`${JSON.stringify({ address: server.address })}\n`);

process.once('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
