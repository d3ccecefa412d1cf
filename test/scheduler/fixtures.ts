import type { GpuDevice, MachineSpec, TaskDemand } from '../../server/scheduler/index.ts';

/** Builds a task demand with no GPU, no constraints and priority 0 unless overridden. */
export function task(id: string, overrides: Partial<TaskDemand> = {}): TaskDemand {
  return {
    id,
    priority: 0,
    cpuMilli: 1000,
    memoryMib: 1024,
    gpuCount: 0,
    gpuMilli: 0,
    gpuMemoryMib: 0,
    gpuModels: [],
    constraints: [],
    ...overrides,
  };
}

/** Builds a machine with `gpuCount` devices of one model. */
export function machine(
  id: string,
  cpuMilli: number,
  memoryMib: number,
  gpuCount = 0,
  gpuModel = 'A10',
  gpuMemoryMib = 24576,
  labels: Record<string, string> = {},
): MachineSpec {
  const gpus: GpuDevice[] = [];
  for (let index = 0; index < gpuCount; index++) gpus.push({ index, model: gpuModel, memoryMib: gpuMemoryMib });
  return { id, cpuMilli, memoryMib, gpus, labels };
}
