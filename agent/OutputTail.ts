/** Default tail size: TaskStatus.output_tail carries at most 4096 bytes. */
export const OUTPUT_TAIL_BYTES = 4096;

/**
 * Last bytes of a process's combined standard output and error, in the order
 * the chunks arrived. Memory stays bounded by the limit plus one chunk.
 */
export class OutputTail {
  private readonly chunks: Buffer[] = [];
  private length = 0;

  constructor(private readonly limitBytes: number = OUTPUT_TAIL_BYTES) {}

  /** Appends a chunk and drops whole chunks that fall out of the window. */
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;

    let first = this.chunks[0];
    while (first !== undefined && this.length - first.length >= this.limitBytes) {
      this.chunks.shift();
      this.length -= first.length;
      first = this.chunks[0];
    }
  }

  /**
   * Returns the tail as UTF-8 text of at most limitBytes bytes. A character
   * cut at the window's start is dropped rather than shown as U+FFFD, and
   * invalid bytes elsewhere become U+FFFD, so the result is always valid for
   * a protobuf string field.
   */
  toString(): string {
    const all = Buffer.concat(this.chunks, this.length);
    let start = Math.max(0, all.length - this.limitBytes);

    // Skip UTF-8 continuation bytes (10xxxxxx) of a character cut in half.
    while (start < all.length && ((all[start] ?? 0) & 0xc0) === 0x80) {
      start += 1;
    }

    let text = all.subarray(start).toString('utf8');

    // Replacement characters take 3 bytes where the invalid input may have
    // taken 1, so trim from the front until the text fits the limit again.
    while (Buffer.byteLength(text, 'utf8') > this.limitBytes) {
      text = text.slice(1);
    }
    return text;
  }
}
