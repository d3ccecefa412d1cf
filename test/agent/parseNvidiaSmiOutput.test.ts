import { describe, expect, it } from 'vitest';

import { applyGpuOverrides } from '../../agent/detectCapacity.js';
import { parseNvidiaSmiOutput } from '../../agent/parseNvidiaSmiOutput.js';

describe('parseNvidiaSmiOutput', () => {
  it('parses one line per device', () => {
    const output = '0, NVIDIA A100-SXM4-80GB, 81920\n1, NVIDIA A100-SXM4-80GB, 81920\n';

    expect(parseNvidiaSmiOutput(output)).toEqual([
      { index: 0, model: 'NVIDIA A100-SXM4-80GB', memoryMib: 81920 },
      { index: 1, model: 'NVIDIA A100-SXM4-80GB', memoryMib: 81920 },
    ]);
  });

  it('returns no devices for empty output', () => {
    expect(parseNvidiaSmiOutput('')).toEqual([]);
    expect(parseNvidiaSmiOutput('\n  \n')).toEqual([]);
  });

  it('keeps commas inside model names', () => {
    expect(parseNvidiaSmiOutput('3, Tesla V100, PCIe, 16160\r\n')).toEqual([{ index: 3, model: 'Tesla V100, PCIe', memoryMib: 16160 }]);
  });

  it('treats unavailable memory as unknown', () => {
    expect(parseNvidiaSmiOutput('0, NVIDIA T4, [N/A]')).toEqual([{ index: 0, model: 'NVIDIA T4', memoryMib: 0 }]);
  });

  it('rejects lines missing fields', () => {
    expect(() => parseNvidiaSmiOutput('0, NVIDIA T4')).toThrow(/expected "index, name, memory.total"/);
  });

  it('rejects a non-numeric index', () => {
    expect(() => parseNvidiaSmiOutput('GPU-0, NVIDIA T4, 15360')).toThrow(/invalid GPU index "GPU-0"/);
  });
});

describe('applyGpuOverrides', () => {
  const detected = [
    { index: 0, model: 'NVIDIA T4', memoryMib: 15360 },
    { index: 1, model: 'NVIDIA T4', memoryMib: 15360 },
  ];

  it('keeps detected devices without overrides', () => {
    expect(applyGpuOverrides(detected, {})).toEqual(detected);
  });

  it('declares GPUs on a host without any', () => {
    expect(applyGpuOverrides([], { gpuCount: 2, gpuModel: 'A100', gpuMemoryMib: 81920 })).toEqual([
      { index: 0, model: 'A100', memoryMib: 81920 },
      { index: 1, model: 'A100', memoryMib: 81920 },
    ]);
  });

  it('fills undeclared fields from detection', () => {
    expect(applyGpuOverrides(detected, { gpuCount: 3, gpuModel: 'T4' })).toEqual([
      { index: 0, model: 'T4', memoryMib: 15360 },
      { index: 1, model: 'T4', memoryMib: 15360 },
      { index: 2, model: 'T4', memoryMib: 0 },
    ]);
  });

  it('declares no GPUs with count zero', () => {
    expect(applyGpuOverrides(detected, { gpuCount: 0 })).toEqual([]);
  });
});
