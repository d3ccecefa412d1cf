import { pino, type Logger } from 'pino';

const loggersByLevel = new Map<string, Logger>();

/**
 * Returns a pino logger that writes JSON lines to standard error, one per
 * level and process: a fleet simulator runs thousands of agents in one
 * process, and each gets a child of this logger instead of its own stream.
 */
export function createAgentLogger(level = 'info'): Logger {
  let logger = loggersByLevel.get(level);
  if (logger === undefined) {
    logger = pino({ name: 'machinehub-agent', level }, pino.destination({ fd: 2, sync: true }));
    loggersByLevel.set(level, logger);
  }
  return logger;
}
