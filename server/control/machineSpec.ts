import type { MachineSpec } from '../scheduler/index.js';
import type { MachineRecord } from './records.js';

/** Model name given to the scheduler for a device whose model is not set. */
export const UNKNOWN_GPU_MODEL = 'unknown';

/** Converts a machine record to the scheduler's spec: capacity and labels only. */
export function toMachineSpec(machine: MachineRecord): MachineSpec {
  return {
    id: machine.id,
    cpuMilli: machine.capacity.cpuMilli,
    memoryMib: machine.capacity.memoryMib,
    gpus: machine.capacity.gpus.map((gpu) => ({ index: gpu.index, model: gpu.model || UNKNOWN_GPU_MODEL, memoryMib: gpu.memoryMib })),
    labels: machine.labels,
  };
}
