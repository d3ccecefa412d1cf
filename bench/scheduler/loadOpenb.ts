import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseOpenbMachines, parseOpenbTasks, type MachineSpec, type OpenbTask } from '../../server/scheduler/index.ts';

/** Directory of the OpenB CSV files: the copy in traces/openb, or OPENB_TRACE_DIR when set. */
export const OPENB_TRACE_DIR = process.env.OPENB_TRACE_DIR ?? fileURLToPath(new URL('../../traces/openb', import.meta.url));

export function loadMachines(file: 'openb_node_list_all_node.csv' | 'openb_node_list_gpu_node.csv'): MachineSpec[] {
  return parseOpenbMachines(readFileSync(join(OPENB_TRACE_DIR, file), 'utf8'));
}

export function loadDefaultTasks(): OpenbTask[] {
  return parseOpenbTasks(readFileSync(join(OPENB_TRACE_DIR, 'openb_pod_list_default.csv'), 'utf8'));
}

/** Copies a fleet `scale` times with ids suffixed `-r<copy>` (the original ids at scale 1). */
export function replicate(machines: readonly MachineSpec[], scale: number): MachineSpec[] {
  if (scale === 1) return [...machines];
  const copies: MachineSpec[] = [];
  for (let copy = 0; copy < scale; copy++) {
    for (const machine of machines) copies.push({ ...machine, id: `${machine.id}-r${copy}` });
  }
  return copies;
}
