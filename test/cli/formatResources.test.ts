import { describe, expect, test } from 'vitest';
import { formatCores, formatCpu, formatGpuShare, formatMemory } from '../../client/index.js';

describe('resource formatting', () => {
  test.each([
    [4000, '4.0'],
    [500, '0.5'],
    [250, '0.25'],
    [1, '0.001'],
    [0, '0.0'],
    [16500, '16.5'],
  ])('cores of %i millicores', (millicores, expected) => {
    expect(formatCores(millicores)).toBe(expected);
  });

  test('cpu carries its unit', () => {
    expect(formatCpu(4000)).toBe('4.0 CPU');
  });

  test.each([
    [2000, '2'],
    [460, '0.46'],
    [1000, '1'],
    [0, '0'],
    [1460, '1.46'],
  ])('gpu share of %i thousandths', (milli, expected) => {
    expect(formatGpuShare(milli)).toBe(expected);
  });

  test.each([
    [8192, '8 GiB'],
    [512, '512 MiB'],
    [1536, '1.5 GiB'],
    [1024 * 1024, '1 TiB'],
    [0, '0 MiB'],
    [1000, '1000 MiB'],
  ])('memory of %i MiB', (mebibytes, expected) => {
    expect(formatMemory(mebibytes)).toBe(expected);
  });
});
