import type { Logger } from 'pino';

import type { RunningAttempt, TaskStatus } from '../gen/machinehub/agent/v1/agent.js';

/**
 * TaskStatus reports waiting for the next registration, oldest first, at
 * most `limit` of them. When full, the oldest reports are dropped, because
 * the newest report of each attempt is the one the server acts on.
 */
export class StatusBuffer {
  private reports: TaskStatus[] = [];
  private droppedCount = 0;

  constructor(
    private readonly limit: number,
    private readonly logger: Logger,
  ) {}

  get length(): number {
    return this.reports.length;
  }

  /** Reports dropped since the last takeAll(). */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Adds reports after the buffered ones. */
  append(reports: TaskStatus[]): void {
    this.reports = this.reports.concat(reports);
    this.trim();
  }

  /** Adds reports before the buffered ones, for reports that were older. */
  prepend(reports: TaskStatus[]): void {
    if (reports.length > 0) {
      this.reports = reports.concat(this.reports);
      this.trim();
    }
  }

  /** Removes and returns every report, oldest first, and resets the dropped count. */
  takeAll(): TaskStatus[] {
    const reports = this.reports;
    this.reports = [];
    this.droppedCount = 0;
    return reports;
  }

  /** Lists each attempt with a buffered report once, in buffer order. */
  attempts(): RunningAttempt[] {
    const seen = new Set<string>();
    const attempts: RunningAttempt[] = [];
    for (const { taskId, attempt } of this.reports) {
      const key = `${taskId}#${attempt}`;
      if (!seen.has(key)) {
        seen.add(key);
        attempts.push({ taskId, attempt });
      }
    }
    return attempts;
  }

  private trim(): void {
    const excess = this.reports.length - this.limit;
    if (excess <= 0) {
      return;
    }
    this.reports.splice(0, excess);
    if (this.droppedCount === 0) {
      this.logger.warn({ limit: this.limit }, 'status buffer full while disconnected; dropping the oldest reports');
    }
    this.droppedCount += excess;
  }
}
