import { describe, expect, it } from 'vitest';

import { computeBackoffDelay } from '../../agent/computeBackoffDelay.js';
import { OutputTail } from '../../agent/OutputTail.js';

describe('OutputTail', () => {
  it('keeps everything under the limit', () => {
    const tail = new OutputTail(16);
    tail.push(Buffer.from('hello '));
    tail.push(Buffer.from('world'));

    expect(tail.toString()).toBe('hello world');
  });

  it('keeps only the last bytes', () => {
    const tail = new OutputTail(8);
    for (let i = 0; i < 100; i += 1) {
      tail.push(Buffer.from(`line ${i}\n`));
    }

    expect(tail.toString()).toBe('line 99\n'.slice(-8));
  });

  it('drops a character cut in half', () => {
    const tail = new OutputTail(4);
    // "é" is 2 bytes in UTF-8, so the last 4 bytes start inside the first "é".
    tail.push(Buffer.from('ééé'));

    expect(tail.toString()).toBe('éé');
  });

  it('stays within the limit for invalid bytes', () => {
    const tail = new OutputTail(6);
    tail.push(Buffer.from([0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa]));

    expect(Buffer.byteLength(tail.toString(), 'utf8')).toBeLessThanOrEqual(6);
  });
});

describe('computeBackoffDelay', () => {
  it('doubles the window per failure', () => {
    const almostOne = () => 0.999_999;

    expect(computeBackoffDelay(0, 30_000, 500, almostOne)).toBe(499);
    expect(computeBackoffDelay(1, 30_000, 500, almostOne)).toBe(999);
    expect(computeBackoffDelay(3, 30_000, 500, almostOne)).toBe(3_999);
  });

  it('caps the window at the maximum', () => {
    expect(computeBackoffDelay(20, 30_000, 500, () => 0.999_999)).toBe(29_999);
    expect(computeBackoffDelay(10_000, 30_000, 500, () => 0.5)).toBe(15_000);
  });

  it('uses full jitter from zero', () => {
    expect(computeBackoffDelay(5, 30_000, 500, () => 0)).toBe(0);
  });
});
