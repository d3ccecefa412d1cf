/**
 * Parser for the OpenB GPU cluster trace (Alibaba `cluster-trace-gpu-v2023`,
 * published with Weng et al., "Beware of Fragmentation", USENIX ATC 2023).
 * Pure: takes CSV text, so the scheduler core stays free of file I/O.
 */
import type { GpuDevice, MachineSpec, TaskDemand } from '../types.ts';

/**
 * GPU memory per model in MiB. The trace gives models but no memory. P100,
 * T4 and V100M16 have 16 GiB, V100M32 32 GiB and A10 24 GiB (vendor specs).
 * G1, G2 and G3 are undisclosed models.
 * NOTE: G1-G3 are assumed to have 32 GiB; no task in the OpenB default trace
 * requests GPU memory, so the value only matters to callers that set one.
 */
export const OPENB_GPU_MEMORY_MIB: Readonly<Record<string, number>> = {
  P100: 16384,
  T4: 16384,
  V100M16: 16384,
  V100M32: 32768,
  A10: 24576,
  G1: 32768,
  G2: 32768,
  G3: 32768,
};

/** A trace task with its timing, in seconds from the trace start. */
export type OpenbTask = TaskDemand & {
  creationTime: number;
  /** `deletion_time - scheduled_time`, or 0 when either is blank or the difference is negative. */
  durationSec: number;
};

/** Parses `openb_node_list_*.csv` (`sn,cpu_milli,memory_mib,gpu,model`). Machine ids are the `sn` column. */
export function parseOpenbMachines(csvText: string): MachineSpec[] {
  const rows = parseCsv(csvText);
  return rows.map((row, position) => {
    const line = position + 2;
    const gpuCount = integerField(row, 'gpu', line);
    const model = row.model ?? '';
    if (gpuCount > 0 && model === '') throw new Error(`line ${line}: machine ${row.sn ?? '?'} has ${gpuCount} GPUs but no model`);
    const memoryMib = OPENB_GPU_MEMORY_MIB[model] ?? 0;
    if (gpuCount > 0 && memoryMib === 0) {
      throw new Error(`line ${line}: GPU model ${model} has no memory entry in OPENB_GPU_MEMORY_MIB`);
    }
    const gpus: GpuDevice[] = [];
    for (let index = 0; index < gpuCount; index++) gpus.push({ index, model, memoryMib });
    return {
      id: requiredField(row, 'sn', line),
      cpuMilli: integerField(row, 'cpu_milli', line),
      memoryMib: integerField(row, 'memory_mib', line),
      gpus,
      labels: {},
    };
  });
}

/**
 * Parses `openb_pod_list_*.csv`. A row with `num_gpu` 1 and `gpu_milli`
 * below 1000 is a share of one GPU; other GPU rows request `num_gpu` whole
 * devices. `gpu_spec` lists allowed models separated by `|`. Priority is 0
 * for every task, so tasks queue in trace order.
 */
export function parseOpenbTasks(csvText: string): OpenbTask[] {
  const rows = parseCsv(csvText);
  return rows.map((row, position) => {
    const line = position + 2;
    const numGpu = integerField(row, 'num_gpu', line);
    const gpuMilliColumn = integerField(row, 'gpu_milli', line);
    const share = numGpu === 1 && gpuMilliColumn > 0 && gpuMilliColumn < 1000;
    const spec = row.gpu_spec ?? '';
    const creationTime = optionalInteger(row.creation_time) ?? 0;
    const scheduledTime = optionalInteger(row.scheduled_time);
    const deletionTime = optionalInteger(row.deletion_time);
    const duration = scheduledTime !== undefined && deletionTime !== undefined ? deletionTime - scheduledTime : 0;
    return {
      id: requiredField(row, 'name', line),
      priority: 0,
      cpuMilli: integerField(row, 'cpu_milli', line),
      memoryMib: integerField(row, 'memory_mib', line),
      gpuCount: share ? 0 : numGpu,
      gpuMilli: share ? gpuMilliColumn : 0,
      gpuMemoryMib: 0,
      gpuModels: spec === '' ? [] : spec.split('|'),
      constraints: [],
      creationTime,
      durationSec: Math.max(0, duration),
    };
  });
}

/** Splits simple CSV (no quoted fields, as in the OpenB files) into records keyed by header. */
function parseCsv(csvText: string): Array<Record<string, string>> {
  const lines = csvText.split(/\r?\n/).filter((line) => line.length > 0);
  const header = (lines[0] ?? '').split(',');
  return lines.slice(1).map((line) => {
    const cells = line.split(',');
    const record: Record<string, string> = {};
    header.forEach((column, position) => {
      record[column] = cells[position] ?? '';
    });
    return record;
  });
}

function requiredField(row: Record<string, string>, column: string, line: number): string {
  const value = row[column];
  if (value === undefined || value === '') throw new Error(`line ${line}: column ${column} is missing or empty`);
  return value;
}

function integerField(row: Record<string, string>, column: string, line: number): number {
  const text = requiredField(row, column, line);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new Error(`line ${line}: column ${column} must be a non-negative integer, got ${JSON.stringify(text)}`);
  }
  return value;
}

function optionalInteger(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? Math.trunc(value) : undefined;
}
