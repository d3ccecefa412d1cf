import type { MachineRecord, TaskRecord } from '../control/records.js';

/** Records saved since the last commit. Each record is written with its content at commit time. */
export interface Batch {
  tasks: TaskRecord[];
  machines: MachineRecord[];
  deletedMachineIds: string[];
}

/** Writes one batch in one transaction. It throws when nothing was committed. */
export type CommitFunction = (batch: Batch) => void | Promise<void>;

/** Delay before a failed batch is tried again, ms. */
const RETRY_DELAY_MS = 1_000;

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Group commit shared by the SQLite and PostgreSQL stores. Saves mark records
 * dirty; a commit is scheduled with setImmediate, so every save of one
 * event-loop turn lands in the same transaction. At most one commit runs at
 * a time, and saves made meanwhile go into the next one.
 *
 * A failed commit rejects the flushes that waited for it and puts its records
 * back as dirty, so the next commit writes them again (retried after
 * RETRY_DELAY_MS when nothing else triggers it).
 */
export class CommitBatcher {
  private tasks = new Map<string, TaskRecord>();
  /** Dirty machines; undefined marks a deletion. */
  private machines = new Map<string, MachineRecord | undefined>();
  /** Settles when the commit that takes the current dirty records ends. */
  private next: Deferred | undefined;
  private running: Promise<void> | undefined;
  private scheduled = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly commit: CommitFunction,
    private readonly onCommitFailed: (error: unknown, batch: Batch) => void,
  ) {}

  saveTask(task: TaskRecord): void {
    if (this.closed) return;
    this.tasks.set(task.id, task);
    this.schedule();
  }

  saveMachine(machine: MachineRecord): void {
    if (this.closed) return;
    this.machines.set(machine.id, machine);
    this.schedule();
  }

  deleteMachine(id: string): void {
    if (this.closed) return;
    this.machines.set(id, undefined);
    this.schedule();
  }

  /** Resolves after the commit that includes every earlier save, and rejects when that commit fails. */
  flush(): Promise<void> {
    if (this.next) {
      this.schedule();
      return this.next.promise;
    }
    return this.running ?? Promise.resolve();
  }

  /** Waits for the last commit and stops. Later saves are ignored. */
  async close(): Promise<void> {
    await this.flush().catch(() => {});
    this.closed = true;
    clearTimeout(this.retryTimer);
  }

  private schedule(): void {
    this.next ??= deferred();
    if (this.scheduled || this.running) return;
    this.scheduled = true;
    clearTimeout(this.retryTimer);
    setImmediate(() => {
      this.scheduled = false;
      this.start();
    });
  }

  private start(): void {
    const done = this.next;
    if (!done || this.closed) return;
    this.next = undefined;
    const batch: Batch = { tasks: [...this.tasks.values()], machines: [], deletedMachineIds: [] };
    for (const [id, machine] of this.machines) {
      if (machine) batch.machines.push(machine);
      else batch.deletedMachineIds.push(id);
    }
    this.tasks = new Map();
    this.machines = new Map();

    const running = (async () => this.commit(batch))();
    this.running = running;
    running.then(
      () => done.resolve(),
      (error: unknown) => {
        this.requeue(batch);
        done.reject(error);
        this.onCommitFailed(error, batch);
      },
    ).finally(() => {
      this.running = undefined;
      if (this.next && !this.closed) this.schedule();
    });
  }

  /** Marks a failed batch dirty again, except records saved or deleted since. */
  private requeue(batch: Batch): void {
    for (const task of batch.tasks) if (!this.tasks.has(task.id)) this.tasks.set(task.id, task);
    for (const machine of batch.machines) if (!this.machines.has(machine.id)) this.machines.set(machine.id, machine);
    for (const id of batch.deletedMachineIds) if (!this.machines.has(id)) this.machines.set(id, undefined);
    if (this.closed || this.next) return;
    this.next = deferred();
    this.retryTimer = setTimeout(() => this.schedule(), RETRY_DELAY_MS);
    this.retryTimer.unref();
  }
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((onResolve, onReject) => {
    resolve = onResolve;
    reject = onReject;
  });
  // A batch may fail with no flush waiting for it, and onCommitFailed reports that.
  promise.catch(() => {});
  return { promise, resolve, reject };
}
