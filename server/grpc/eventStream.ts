import type { EventEmitter } from 'node:events';
import { resourceExhausted } from '../errors.js';

/**
 * Most events a watcher may fall behind by. A client that reads slower than
 * the server changes state gets RESOURCE_EXHAUSTED instead of growing server
 * memory, and can watch again with include_current.
 */
export const MAX_WATCH_BACKLOG = 100_000;

/**
 * Turns emitter events into an async stream for a server-streaming RPC.
 * `select` maps an event to the message to send, or to undefined to skip it.
 * It runs when the event fires, so each message is a snapshot of that moment.
 * The listener is removed when the client cancels or the stream fails.
 */
export async function* eventStream<T>(
  emitter: EventEmitter,
  event: string,
  select: (...args: any[]) => T | undefined,
  signal: AbortSignal,
  initial: T[] = [],
): AsyncGenerator<T> {
  const backlog: T[] = [...initial];
  let wake: (() => void) | undefined;
  let overflow = false;
  const listener = (...args: unknown[]) => {
    const message = select(...args);
    if (message === undefined) return;
    if (backlog.length >= MAX_WATCH_BACKLOG) overflow = true;
    else backlog.push(message);
    wake?.();
  };
  const onAbort = () => wake?.();
  emitter.on(event, listener);
  signal.addEventListener('abort', onAbort);
  try {
    let head = 0;
    while (!signal.aborted) {
      if (overflow) throw resourceExhausted(`watch fell ${MAX_WATCH_BACKLOG} events behind; watch again with include_current`);
      if (head < backlog.length) {
        const message = backlog[head] as T;
        head += 1;
        if (head > 1024 && head * 2 > backlog.length) {
          backlog.splice(0, head);
          head = 0;
        }
        yield message;
        continue;
      }
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  } finally {
    emitter.off(event, listener);
    signal.removeEventListener('abort', onAbort);
  }
}
