import type { MachineSpec } from '../scheduler/index.js';
import type { MachineRecord } from './records.js';

/** The scheduler's view of a machine: capacity and labels only. */
export function toMachineSpec(machine: MachineRecord): MachineSpec {
  return {
    id: machine.id,
    cpuMilli: machine.capacity.cpuMilli,
    memoryMib: machine.capacity.memoryMib,
    gpus: machine.capacity.gpus.map((gpu) => ({ index: gpu.index, model: gpu.model, memoryMib: gpu.memoryMib })),
    labels: machine.labels,
  };
}
