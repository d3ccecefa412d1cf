import type { Logger } from 'pino';

/** Most keys remembered; past it the table starts over, so a flood of distinct keys cannot grow memory. */
const MAX_KEYS = 10_000;

/**
 * Logs a warning at most once per interval and key, for warnings that a
 * misbehaving peer can repeat on every message. The next warning logged for
 * a key carries `suppressed`, the number of warnings dropped since the last.
 */
export class WarnLimiter {
  private readonly seen = new Map<string, { atMs: number; suppressed: number }>();

  constructor(
    private readonly log: Logger,
    private readonly intervalMs = 10_000,
  ) {}

  warn(key: string, fields: Record<string, unknown>, message: string): void {
    const now = Date.now();
    const entry = this.seen.get(key);
    if (entry && now - entry.atMs < this.intervalMs) {
      entry.suppressed += 1;
      return;
    }
    if (this.seen.size >= MAX_KEYS) this.seen.clear();
    this.seen.set(key, { atMs: now, suppressed: 0 });
    this.log.warn({ ...fields, suppressed: entry?.suppressed ?? 0 }, message);
  }
}
