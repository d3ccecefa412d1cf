/**
 * The request side of one Connect stream: an async iterable that nice-grpc
 * pulls messages from, fed by push(). end() half-closes the stream once the
 * messages pushed before it were pulled. close() stops the iteration at once
 * and hands back the messages that were never pulled, so that the caller can
 * keep the ones that must survive a reconnect.
 */
export class RequestQueue<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private head = 0;
  private ended = false;
  private closed = false;
  private waiter: ((result: IteratorResult<T>) => void) | undefined;

  /** Queues a message. Returns false, and drops it, after end() or close(). */
  push(item: T): boolean {
    if (this.ended || this.closed) {
      return false;
    }
    if (this.waiter !== undefined) {
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter({ value: item, done: false });
      return true;
    }
    this.items.push(item);
    return true;
  }

  /** Finishes the iteration after the queued messages: a half-close. */
  end(): void {
    this.ended = true;
    if (this.waiter !== undefined && this.head >= this.items.length) {
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter({ value: undefined, done: true });
    }
  }

  /** Stops the iteration now and returns the messages never pulled, oldest first. */
  close(): T[] {
    this.closed = true;
    const unsent = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    if (this.waiter !== undefined) {
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter({ value: undefined, done: true });
    }
    return unsent;
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.head < this.items.length) {
          const value = this.items[this.head] as T;
          this.head += 1;
          // Compact now and then instead of shift(), which is O(n) per call.
          if (this.head >= 1024 && this.head * 2 >= this.items.length) {
            this.items = this.items.slice(this.head);
            this.head = 0;
          }
          return Promise.resolve({ value, done: false });
        }
        if (this.ended || this.closed) {
          return Promise.resolve({ value: undefined, done: true });
        }
        return new Promise((resolve) => {
          this.waiter = resolve;
        });
      },
      return: () => {
        this.closed = true;
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
