import type { MachineCapacity } from '../../gen/machinehub/machine/v1/machine.js';
import { invalidArgument, type ApiError } from '../errors.js';
import { ID_PATTERN } from './ids.js';
import { MAX_GPU_COUNT, MAX_LABEL_CHARS, clip } from './validateTaskSpec.js';

/**
 * Checks a machine id, capacity and labels from RegisterMachine or an agent's
 * RegisterAgent. `prefix` is the path of the fields in the request, for
 * example "" or "register.". Returns the first problem, or undefined.
 */
export function validateMachine(
  prefix: string,
  id: string,
  capacity: MachineCapacity | undefined,
  labels: Record<string, string>,
  idField = 'id',
): ApiError | undefined {
  if (!ID_PATTERN.test(id)) {
    return invalidArgument(`${prefix}${idField}: "${clip(id)}" is invalid: use 1 to 128 characters of A-Z a-z 0-9 . _ : -`);
  }
  if (!capacity) return invalidArgument(`${prefix}capacity: missing: set cpu_milli and memory_mib`);
  for (const [name, value] of [
    ['cpu_milli', capacity.cpuMilli],
    ['memory_mib', capacity.memoryMib],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      return invalidArgument(`${prefix}capacity.${name}: ${value} is out of range 0 to ${Number.MAX_SAFE_INTEGER}`);
    }
  }
  if (capacity.gpus.length > MAX_GPU_COUNT) {
    return invalidArgument(`${prefix}capacity.gpus: ${capacity.gpus.length} devices, limit is ${MAX_GPU_COUNT}`);
  }
  const seen = new Set<number>();
  for (const [i, gpu] of capacity.gpus.entries()) {
    // Allocations are reported per device index, so indexes are exactly 0 to n-1.
    if (!Number.isSafeInteger(gpu.index) || gpu.index < 0 || gpu.index >= capacity.gpus.length) {
      return invalidArgument(
        `${prefix}capacity.gpus[${i}].index: ${gpu.index} is out of range 0 to ${capacity.gpus.length - 1}`,
      );
    }
    if (seen.has(gpu.index)) {
      return invalidArgument(`${prefix}capacity.gpus[${i}].index: ${gpu.index} appears twice`);
    }
    seen.add(gpu.index);
    if (!Number.isSafeInteger(gpu.memoryMib) || gpu.memoryMib < 0) {
      return invalidArgument(`${prefix}capacity.gpus[${i}].memory_mib: ${gpu.memoryMib} is negative`);
    }
  }
  for (const [key, value] of Object.entries(labels)) {
    if (key === '' || key.length > MAX_LABEL_CHARS || value.length > MAX_LABEL_CHARS) {
      return invalidArgument(
        `${prefix}labels: "${clip(key)}" is invalid: keys are 1 to ${MAX_LABEL_CHARS} characters, values at most ${MAX_LABEL_CHARS}`,
      );
    }
  }
  return undefined;
}
