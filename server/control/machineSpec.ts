import type { MachineSpec } from '../scheduler/index.js';
import type { MachineRecord } from './records.js';

/** Model name the scheduler sees for a device whose model is not set. */
export const UNKNOWN_GPU_MODEL = 'unknown';

/** The scheduler's view of a machine: capacity and labels only. */
export function toMachineSpec(machine: MachineRecord): MachineSpec {
  return {
    id: machine.id,
    cpuMilli: machine.capacity.cpuMilli,
    memoryMib: machine.capacity.memoryMib,
    gpus: machine.capacity.gpus.map((gpu) => ({ index: gpu.index, model: gpu.model || UNKNOWN_GPU_MODEL, memoryMib: gpu.memoryMib })),
    labels: machine.labels,
  };
}
