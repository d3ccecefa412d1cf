/**
 * The queue of messages waiting to be written to one agent's stream.
 *
 * Control messages (assignments, cancels) are always accepted: their number
 * is bounded by the tasks on the machine. Data messages (agent-to-agent
 * traffic and its results) count against `capacity`; a producer waits for
 * room, so a flooding sender is slowed by HTTP/2 flow control instead of
 * growing server memory.
 */
export class OutboundQueue<T> {
  private items: T[] = [];
  private head = 0;
  private dataCount = 0;
  private readonly isData: boolean[] = [];
  private closed = false;
  private wakeReader: (() => void) | undefined;
  private readonly roomWaiters: (() => void)[] = [];

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.items.length - this.head;
  }

  pushControl(item: T): void {
    if (this.closed) return;
    this.items.push(item);
    this.isData.push(false);
    this.wake();
  }

  /**
   * Queues a data message, waiting up to `timeoutMs` for room. Resolves false
   * when the queue stayed full or was closed.
   */
  async pushData(item: T, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && this.dataCount >= this.capacity) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.roomWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    if (this.closed) return false;
    this.items.push(item);
    this.isData.push(true);
    this.dataCount += 1;
    this.wake();
    return true;
  }

  /** Ends the queue: the reader stops after the items already queued, waiters give up. */
  close(): void {
    this.closed = true;
    this.wake();
    for (const waiter of this.roomWaiters.splice(0)) waiter();
  }

  /** Yields queued items in order until the queue is closed and empty. */
  async *drain(): AsyncGenerator<T> {
    for (;;) {
      while (this.head < this.items.length) {
        const item = this.items[this.head] as T;
        if (this.isData[this.head]) {
          this.dataCount -= 1;
          this.roomWaiters.shift()?.();
        }
        this.head += 1;
        this.compact();
        yield item;
      }
      if (this.closed) return;
      await new Promise<void>((resolve) => (this.wakeReader = resolve));
    }
  }

  private wake(): void {
    const wake = this.wakeReader;
    this.wakeReader = undefined;
    wake?.();
  }

  /** Drops consumed slots once they dominate, so the arrays do not grow forever. */
  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.isData.splice(0, this.head);
      this.head = 0;
    }
  }
}
