import type { ServerOptions } from '../../server/options.js';
import type { Command } from '../Command.js';
import { rejectExtraPositionals, rejectTogether, stringOption } from '../optionValues.js';
import { POLICY_NAMES, parsePolicyName } from '../parseEnums.js';
import { parseWholeNumber } from '../parseQuantities.js';
import { UsageError } from '../UsageError.js';

/** Log levels of pino, the server's logger. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export const serverCommand: Command = {
  name: 'server',
  summary: 'run the machinehub server until SIGINT or SIGTERM',
  help: `Usage: machinehub server [options]

Runs the server in the foreground and logs JSON lines to standard output.
SIGINT or SIGTERM closes it gracefully; a second SIGINT exits at once.

  --listen ADDR               host:port to listen on; port 0 picks a free port (default 127.0.0.1:50051)
  --data-dir DIR              directory of the embedded SQLite store (default ./machinehub-data)
  --in-memory                 keep state in memory only, nothing on disk
  --store postgres://...      keep state in PostgreSQL, as one of several replicas
  --policy P                  placement policy for tasks that set none: ${POLICY_NAMES.join(', ')} (default fgd)
  --heartbeat-interval MS     base agent heartbeat interval, ms (default 5000)
  --lease-timeout MS          time without heartbeats before a machine is disconnected, ms (default 3 intervals)
  --lost-timeout MS           time after that before a machine is lost and its tasks requeued, ms (default 30000)
  --log-level L               ${LOG_LEVELS.join(', ')} (default info)`,
  options: {
    listen: { type: 'string' },
    'data-dir': { type: 'string' },
    'in-memory': { type: 'boolean' },
    store: { type: 'string' },
    policy: { type: 'string' },
    'heartbeat-interval': { type: 'string' },
    'lease-timeout': { type: 'string' },
    'lost-timeout': { type: 'string' },
    'log-level': { type: 'string' },
  },
  async run(context, values, positionals) {
    rejectExtraPositionals(positionals, 0);
    const options = parseServerOptions(values);

    // Imported here so that client commands never load the server and its native modules.
    const { startServer } = await import('../../server/index.js');
    const server = await startServer(options);
    if (context.json) {
      context.print(JSON.stringify({ address: server.address }));
    } else {
      process.stderr.write(`machinehub server listening on ${server.address}\n`);
    }
    await waitForShutdownSignal();
    await server.close();
  },
};

function parseServerOptions(values: Parameters<Command['run']>[1]): ServerOptions {
  rejectTogether(values, ['data-dir', 'in-memory', 'store']);
  const options: ServerOptions = {};

  const listen = stringOption(values, 'listen');
  if (listen !== undefined) {
    options.listen = listen;
  }
  const dataDir = stringOption(values, 'data-dir');
  if (dataDir !== undefined) {
    options.dataDir = dataDir;
  }
  if (values['in-memory'] === true) {
    options.inMemory = true;
  }
  const store = stringOption(values, 'store');
  if (store !== undefined) {
    if (!/^postgres(ql)?:\/\//.test(store)) {
      throw new UsageError(`invalid --store "${store}": expected a postgres:// or postgresql:// URL`);
    }
    options.postgresUrl = store;
  }
  const policy = stringOption(values, 'policy');
  if (policy !== undefined) {
    options.defaultPolicy = parsePolicyName('policy', policy);
  }
  const heartbeat = stringOption(values, 'heartbeat-interval');
  if (heartbeat !== undefined) {
    options.heartbeatIntervalMs = parseWholeNumber('heartbeat-interval', heartbeat, 'ms', 1);
  }
  const lease = stringOption(values, 'lease-timeout');
  if (lease !== undefined) {
    options.leaseTimeoutMs = parseWholeNumber('lease-timeout', lease, 'ms', 1);
  }
  const lost = stringOption(values, 'lost-timeout');
  if (lost !== undefined) {
    options.lostTimeoutMs = parseWholeNumber('lost-timeout', lost, 'ms', 1);
  }
  const logLevel = stringOption(values, 'log-level');
  if (logLevel !== undefined) {
    if (!LOG_LEVELS.includes(logLevel)) {
      throw new UsageError(`invalid --log-level "${logLevel}": expected one of ${LOG_LEVELS.join(', ')}`);
    }
    options.logLevel = logLevel;
  }
  return options;
}

/**
 * Resolves on the first SIGINT or SIGTERM. A second SIGINT during the
 * graceful close exits at once with status 130, the shell's code for SIGINT.
 */
function waitForShutdownSignal(): Promise<void> {
  return new Promise((resolve) => {
    const onSignal = (): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.once('SIGINT', () => process.exit(130));
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
