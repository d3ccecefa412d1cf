/**
 * The queue of messages waiting to be written to one agent's stream.
 *
 * Data messages (agent-to-agent traffic and its results) are bounded by
 * count and by bytes. A producer waits for room, so a flooding sender is
 * slowed by HTTP/2 flow control instead of growing server memory. Control
 * messages (assignments, cancels, drains) are never made to wait, because
 * the control plane must not block on one agent. They have a bound of their
 * own: a queue past it means the agent stopped reading, and the caller ends
 * the stream.
 */
export class OutboundQueue<T> {
  private items: T[] = [];
  private sizes: number[] = [];
  private head = 0;
  private dataCount = 0;
  private dataBytes = 0;
  private controlCount = 0;
  private closed = false;
  private wakeReader: (() => void) | undefined;
  private readonly roomWaiters: (() => void)[] = [];

  constructor(
    /** Most data messages queued at once. */
    readonly capacity: number,
    /** Most payload bytes of data messages queued at once; one larger message still passes alone. */
    readonly maxBytes: number,
    /** Most control messages queued at once. */
    readonly maxControl: number,
  ) {}

  get size(): number {
    return this.items.length - this.head;
  }

  get bytes(): number {
    return this.dataBytes;
  }

  /** Queues a control message; false, and nothing queued, when the control bound is reached. */
  pushControl(item: T): boolean {
    if (this.closed) return true;
    if (this.controlCount >= this.maxControl) return false;
    this.items.push(item);
    this.sizes.push(-1);
    this.controlCount += 1;
    this.wake();
    return true;
  }

  /**
   * Queues a data message of `bytes` payload bytes, waiting up to
   * `timeoutMs` for room. Resolves false when the queue stayed full or was
   * closed.
   */
  async pushData(item: T, bytes: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && this.isFull(bytes)) {
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
    this.sizes.push(bytes);
    this.dataCount += 1;
    this.dataBytes += bytes;
    this.wake();
    return true;
  }

  private isFull(bytes: number): boolean {
    if (this.dataCount === 0) return false;
    return this.dataCount >= this.capacity || this.dataBytes + bytes > this.maxBytes;
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
        const bytes = this.sizes[this.head] as number;
        if (bytes < 0) {
          this.controlCount -= 1;
        } else {
          this.dataCount -= 1;
          this.dataBytes -= bytes;
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
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
  }
}
