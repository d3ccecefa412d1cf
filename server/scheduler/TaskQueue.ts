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
  /** Set when the task leaves the queue; its slot in the bucket array is skipped and later compacted. */
  removed: boolean;
}

interface Bucket {
  /** Tasks in enqueue order, including removed ones not yet compacted away. */
  tasks: QueuedTask[];
  live: number;
}

/**
 * Queued tasks in scheduling order: higher priority first, then enqueue
 * order. Each priority has an append-only array. Removal only marks the
 * task, and compaction happens between passes. So enqueue and cancel are
 * O(1), and a pass can remove placed tasks while it walks the arrays.
 */
export class TaskQueue {
  private readonly buckets = new Map<number, Bucket>();
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
      bucket = { tasks: [], live: 0 };
      this.buckets.set(priority, bucket);
      const position = this.priorities.findIndex((existing) => existing < priority);
      if (position === -1) this.priorities.push(priority);
      else this.priorities.splice(position, 0, priority);
    }
    bucket.tasks.push(task);
    bucket.live++;
    this.byId.set(task.demand.taskId, task);
  }

  remove(taskId: string): QueuedTask | undefined {
    const task = this.byId.get(taskId);
    if (task === undefined) return undefined;
    this.byId.delete(taskId);
    task.removed = true;
    const priority = task.demand.priority;
    const bucket = this.buckets.get(priority)!;
    bucket.live--;
    if (bucket.live === 0) {
      this.buckets.delete(priority);
      this.priorities = this.priorities.filter((existing) => existing !== priority);
    }
    return task;
  }

  /**
   * Calls `visit` for each queued task in scheduling order until it returns
   * false. Tasks removed during the walk are skipped; tasks added during it
   * may or may not be visited.
   */
  forEachInOrder(visit: (task: QueuedTask) => boolean): void {
    this.compact();
    for (const priority of [...this.priorities]) {
      const bucket = this.buckets.get(priority);
      if (bucket === undefined) continue;
      const tasks = bucket.tasks;
      for (let position = 0; position < tasks.length; position++) {
        const task = tasks[position]!;
        if (task.removed) continue;
        if (!visit(task)) return;
      }
    }
  }

  /** Drops removed tasks from bucket arrays that are at least half removed. */
  private compact(): void {
    for (const bucket of this.buckets.values()) {
      if (bucket.live * 2 > bucket.tasks.length) continue;
      bucket.tasks = bucket.tasks.filter((task) => !task.removed);
    }
  }
}
