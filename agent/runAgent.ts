import { mkdir } from 'node:fs/promises';
import os from 'node:os';

import type { AgentOptions } from './AgentOptions.js';
import { AgentSession } from './AgentSession.js';
import { createAgentLogger } from './createAgentLogger.js';
import { detectCapacity } from './detectCapacity.js';

/** Sessions of the runAgent calls in progress in this process. */
const activeSessions = new Set<AgentSession>();

/**
 * Runs the `machinehub agent` process: detects capacity, registers with the
 * server, runs assigned tasks as process groups and reconnects whenever the
 * stream fails. Resolves after a drain has finished, and rejects when the
 * server rejects the agent (for example INVALID_ARGUMENT for a bad id) or an
 * option is invalid.
 *
 * Shutdown, in one of two ways:
 * - With `signal`, the caller owns the process signals. Aborting it drains
 *   the agent, as does calling drain(). To exit at once (a second SIGINT),
 *   call stopNow(), which kills the tasks' process groups, and then exit.
 * - Without `signal`, runAgent installs handlers itself while it runs:
 *   SIGTERM drains. SIGINT kills the tasks' process groups and exits at
 *   once with status 130, without a drain. The server then treats the
 *   machine as lost and places its tasks again. This follows Nomad, whose agents leave
 *   gracefully on an interrupt only when asked to.
 */
export async function runAgent(options: AgentOptions, signal?: AbortSignal): Promise<void> {
  if (options.server.trim() === '') {
    throw new Error('missing server address: set AgentOptions.server to host:port, for example 127.0.0.1:50051');
  }
  const logger = createAgentLogger(options.logLevel);
  const agentId = options.agentId ?? os.hostname();
  const machineId = options.machineId ?? agentId;
  const capacity = await detectCapacity(options, logger.child({ agentId, machineId }));
  if (options.workDir !== undefined) {
    await mkdir(options.workDir, { recursive: true });
  }

  const session = new AgentSession({
    server: options.server,
    agentId,
    machineId,
    capacity,
    labels: options.labels ?? {},
    logger,
    ...(options.maxReconnectBackoffMs === undefined ? {} : { maxReconnectBackoffMs: options.maxReconnectBackoffMs }),
    ...(options.drainDeadlineMs === undefined ? {} : { drainDeadlineMs: options.drainDeadlineMs }),
    ...(options.killGraceMs === undefined ? {} : { killGraceMs: options.killGraceMs }),
    ...(options.workDir === undefined ? {} : { workDir: options.workDir }),
  });

  const drainSession = (): void => {
    void session.drain().catch((err: unknown) => logger.error({ agentId, err }, 'drain failed'));
  };
  const removeSignalHandlers = signal === undefined ? installSignalHandlers(session, drainSession) : () => {};
  signal?.addEventListener('abort', drainSession, { once: true });

  // Without an SDK handler, a message from another agent or `machinehub send`
  // is logged, so that it is visible rather than dropped.
  session.onMessage((message) => {
    logger.info(
      { agentId, fromAgentId: message.fromAgentId, topic: message.topic, messageId: message.messageId, bytes: message.payload.length, text: message.payload.subarray(0, 256).toString('utf8') },
      'message received',
    );
  });
  activeSessions.add(session);
  logger.info({ agentId, machineId, server: options.server, capacity, labels: options.labels ?? {} }, 'agent starting');
  session.start();
  if (signal?.aborted === true) {
    drainSession();
  }

  try {
    await session.closed;
    logger.info({ agentId, machineId }, 'agent stopped');
  } finally {
    activeSessions.delete(session);
    signal?.removeEventListener('abort', drainSession);
    removeSignalHandlers();
  }
}

/**
 * Drains every agent that runAgent runs in this process; resolves when all
 * have finished. For a CLI that installs its own signal handlers.
 */
export async function drain(): Promise<void> {
  await Promise.all(Array.from(activeSessions, (session) => session.drain()));
}

/**
 * Stops every agent that runAgent runs in this process at once: SIGKILL to
 * each task's process group and the stream cancelled without a drain. The
 * process groups are signalled before this returns, so the caller may call
 * process.exit() right after it.
 */
export function stopNow(): void {
  for (const session of activeSessions) {
    void session.close();
  }
}

function installSignalHandlers(session: AgentSession, drainSession: () => void): () => void {
  const onSigterm = (): void => drainSession();
  const onSigint = (): void => {
    void session.close();
    process.exit(130);
  };

  process.on('SIGTERM', onSigterm);
  process.on('SIGINT', onSigint);
  return () => {
    process.off('SIGTERM', onSigterm);
    process.off('SIGINT', onSigint);
  };
}
