import type { MachineSpec } from './types.ts';

/**
 * Checks a machine spec and returns a message naming the field, its value
 * and the limit, or undefined when valid. Capacities are non-negative safe
 * integers and device indices must be exactly 0..n-1, because allocations
 * are reported per device index.
 */
export function validateMachineSpec(spec: MachineSpec): string | undefined {
  if (typeof spec.id !== 'string' || spec.id.length === 0) {
    return `machine id must be a non-empty string, got ${JSON.stringify(spec.id)}`;
  }
  for (const field of ['cpuMilli', 'memoryMib'] as const) {
    const value = spec[field];
    if (!Number.isSafeInteger(value) || value < 0) {
      return `${field} of machine ${spec.id} must be a non-negative safe integer, got ${String(value)}`;
    }
  }
  if (!Array.isArray(spec.gpus)) {
    return `gpus of machine ${spec.id} must be a list, got ${JSON.stringify(spec.gpus)}`;
  }
  const indices = new Set<number>();
  for (const device of spec.gpus) {
    if (!Number.isSafeInteger(device.index) || device.index < 0 || device.index >= spec.gpus.length || indices.has(device.index)) {
      return `GPU indices of machine ${spec.id} must be 0..${spec.gpus.length - 1}, each once; got ${JSON.stringify(spec.gpus.map((gpu) => gpu.index))}`;
    }
    indices.add(device.index);
    if (typeof device.model !== 'string' || device.model === '') {
      return `model of GPU ${device.index} on machine ${spec.id} must be a non-empty string, got ${JSON.stringify(device.model)}`;
    }
    if (!Number.isSafeInteger(device.memoryMib) || device.memoryMib < 0) {
      return `memoryMib of GPU ${device.index} on machine ${spec.id} must be a non-negative safe integer, got ${String(device.memoryMib)}`;
    }
  }
  if (spec.labels === null || typeof spec.labels !== 'object') {
    return `labels of machine ${spec.id} must be an object of strings, got ${JSON.stringify(spec.labels)}`;
  }
  for (const [key, value] of Object.entries(spec.labels)) {
    if (typeof value !== 'string') {
      return `label ${key} of machine ${spec.id} must be a string, got ${JSON.stringify(value)}`;
    }
  }
  return undefined;
}
