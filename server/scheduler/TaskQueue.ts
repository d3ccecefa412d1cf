import type { Demand } from './Demand.ts';
import type { ShapeIndex } from './ShapeIndex.ts';

/** A task waiting for placement. */
export interface QueuedTask {
  readonly demand: Demand;
  readonly shape: ShapeIndex;
  /** Clock time of `enqueue`, ms. */
  readonly enqueuedAt: number;
  /** False until a scheduling pass has tried the task. */
  attempted: boolean;
}

/**
 * Queued tasks in scheduling order: higher priority first, then enqueue
 * order. One insertion-ordered map per priority gives O(1) enqueue and
 * cancel, and iteration stays valid while placed tasks are removed.
 */
export class TaskQueue {
  private readonly buckets = new Map<number, Map<string, QueuedTask>>();
  /** Priorities that have a bucket, descending. */
  private priorities: number[] = [];
  private readonly byId = new Map<string, QueuedTask>();

  get size(): number {
    return this.byId.size;
  }

  get(taskId: string): QueuedTask | undefined {
    return this.byId.get(taskId);
  }

  add(task: QueuedTask): void {
    const priority = task.demand.priority;
    let bucket = this.buckets.get(priority);
    if (bucket === undefined) {
      bucket = new Map();
      this.buckets.set(priority, bucket);
      const position = this.priorities.findIndex((existing) => existing < priority);
      if (position === -1) this.priorities.push(priority);
      else this.priorities.splice(position, 0, priority);
    }
    bucket.set(task.demand.taskId, task);
    this.byId.set(task.demand.taskId, task);
  }

  remove(taskId: string): QueuedTask | undefined {
    const task = this.byId.get(taskId);
    if (task === undefined) return undefined;
    this.byId.delete(taskId);
    const priority = task.demand.priority;
    const bucket = this.buckets.get(priority);
    bucket?.delete(taskId);
    if (bucket !== undefined && bucket.size === 0) {
      this.buckets.delete(priority);
      this.priorities = this.priorities.filter((existing) => existing !== priority);
    }
    return task;
  }

  /** Yields queued tasks in scheduling order; tasks removed during iteration are skipped. */
  *inOrder(): Generator<QueuedTask> {
    for (const priority of [...this.priorities]) {
      const bucket = this.buckets.get(priority);
      if (bucket === undefined) continue;
      yield* bucket.values();
    }
  }
}
