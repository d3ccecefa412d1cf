import { AgentSession, type AgentSessionOptions } from './AgentSession.js';

/**
 * Connects an agent and resolves once the server has registered it. After
 * that the session reconnects by itself whenever the stream fails. Rejects,
 * after closing the session, when the server rejects the agent or when
 * signal aborts before registration; until then connection failures are
 * retried with backoff.
 */
export async function connectAgent(options: AgentSessionOptions, signal?: AbortSignal): Promise<AgentSession> {
  signal?.throwIfAborted();
  const session = new AgentSession(options);
  const onAbort = (): void => void session.close();
  signal?.addEventListener('abort', onAbort, { once: true });

  session.start();
  try {
    await session.registered;
  } catch (error) {
    await session.close();
    signal?.throwIfAborted();
    throw error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  return session;
}
