import type { MachineCapacity } from '../gen/machinehub/machine/v1/machine.js';
import type { OptionValues } from './Command.js';
import { stringOption } from './optionValues.js';
import { parseCores, parseWholeNumber } from './parseQuantities.js';
import { UsageError } from './UsageError.js';

/** Options that describe a machine's capacity, shared by `machines register` and `agent`. */
export const CAPACITY_OPTIONS = {
  cpus: { type: 'string' },
  'memory-mib': { type: 'string' },
  gpus: { type: 'string' },
  'gpu-model': { type: 'string' },
  'gpu-memory-mib': { type: 'string' },
} as const;

/** Help lines for CAPACITY_OPTIONS. */
export const CAPACITY_HELP = `  --cpus N              allocatable CPU cores, up to 3 decimals
  --memory-mib N        allocatable memory in MiB (64 GiB = 65536)
  --gpus N              number of GPU devices, indexed 0 to N-1
  --gpu-model M         model of every GPU device, such as A100
  --gpu-memory-mib N    memory of each GPU device in MiB`;

/** Capacity options as given, each undefined when absent. */
export interface CapacityOptions {
  cpuMilli?: number;
  memoryMib?: number;
  gpuCount?: number;
  gpuModel?: string;
  gpuMemoryMib?: number;
}

/** Parses CAPACITY_OPTIONS into wire units. */
export function parseCapacityOptions(values: OptionValues): CapacityOptions {
  const cpus = stringOption(values, 'cpus');
  const memory = stringOption(values, 'memory-mib');
  const gpus = stringOption(values, 'gpus');
  const gpuMemory = stringOption(values, 'gpu-memory-mib');
  return {
    cpuMilli: cpus === undefined ? undefined : parseCores('cpus', cpus),
    memoryMib: memory === undefined ? undefined : parseWholeNumber('memory-mib', memory, 'MiB'),
    gpuCount: gpus === undefined ? undefined : parseWholeNumber('gpus', gpus, 'GPU devices'),
    gpuModel: stringOption(values, 'gpu-model'),
    gpuMemoryMib: gpuMemory === undefined ? undefined : parseWholeNumber('gpu-memory-mib', gpuMemory, 'MiB'),
  };
}

/**
 * Builds the full capacity of a declared machine: --cpus and --memory-mib
 * are required, and every GPU device gets the same model and memory.
 */
export function buildMachineCapacity(values: OptionValues): MachineCapacity {
  const options = parseCapacityOptions(values);
  if (options.cpuMilli === undefined) {
    throw new UsageError('missing --cpus');
  }
  if (options.memoryMib === undefined) {
    throw new UsageError('missing --memory-mib');
  }
  if (options.gpuCount === undefined && (options.gpuModel !== undefined || options.gpuMemoryMib !== undefined)) {
    throw new UsageError('--gpu-model and --gpu-memory-mib describe GPU devices, so they need --gpus');
  }
  const gpus = Array.from({ length: options.gpuCount ?? 0 }, (_, index) => ({
    index,
    model: options.gpuModel ?? '',
    memoryMib: options.gpuMemoryMib ?? 0,
  }));
  return { cpuMilli: options.cpuMilli, memoryMib: options.memoryMib, gpus };
}
