import type { Machine } from '../../../gen/machinehub/machine/v1/machine.js';
import { TaskSpec, TaskState, type Task } from '../../../gen/machinehub/task/v1/task.js';

/** Facts the harness records itself, independently of the server. */
export interface Expectations {
  /** Specs by id of every task whose submission was acknowledged. */
  acknowledged: Map<string, TaskSpec>;
  /** Ids whose CancelTask response already showed CANCELLED. */
  cancelled: Set<string>;
  /** True when every task must be final and every allocation zero. */
  finished: boolean;
}

const FINAL = new Set([TaskState.TASK_STATE_COMPLETED, TaskState.TASK_STATE_FAILED, TaskState.TASK_STATE_CANCELLED]);
const PLACED = new Set([TaskState.TASK_STATE_ASSIGNED, TaskState.TASK_STATE_RUNNING]);

/**
 * Checks a snapshot of all tasks and machines, taken while nothing changes,
 * and returns one message per violation. It looks for lost or duplicated
 * tasks, changed specs and inconsistent attempt histories, and for machines
 * whose allocation differs from the sum of their placed tasks' requests.
 */
export function checkInvariants(tasks: Task[], machines: Machine[], expected: Expectations): string[] {
  const violations: string[] = [];
  const seen = new Set<string>();
  for (const task of tasks) {
    if (seen.has(task.id)) violations.push(`task ${task.id} is listed twice`);
    seen.add(task.id);
    const spec = expected.acknowledged.get(task.id);
    if (!spec) violations.push(`task ${task.id} was never acknowledged to the client`);
    else if (!task.spec || !sameSpec(task.spec, spec)) violations.push(`task ${task.id} has a spec other than the one submitted`);
    violations.push(...checkTask(task, expected));
  }
  for (const id of expected.acknowledged.keys()) {
    if (!seen.has(id)) violations.push(`acknowledged task ${id} is missing`);
  }
  violations.push(...checkAccounting(tasks, machines));
  return violations;
}

function checkTask(task: Task, expected: Expectations): string[] {
  const violations: string[] = [];
  const state = TaskState[task.state];
  const last = task.attempts.at(-1);
  if (task.attempts.length !== task.attempt) violations.push(`task ${task.id}: attempt ${task.attempt} but ${task.attempts.length} attempts recorded`);
  task.attempts.forEach((attempt, index) => {
    if (attempt.number !== index + 1) violations.push(`task ${task.id}: attempt ${index + 1} is numbered ${attempt.number}`);
    if (attempt !== last && !FINAL.has(attempt.state)) violations.push(`task ${task.id}: earlier attempt ${attempt.number} is ${TaskState[attempt.state]}`);
  });
  if (PLACED.has(task.state)) {
    if (!last || last.state !== task.state || last.machineId !== task.machineId) {
      violations.push(`task ${task.id}: ${state} but its last attempt is ${last ? `${TaskState[last.state]} on ${last.machineId}` : 'missing'}`);
    }
  } else if (last && PLACED.has(last.state)) {
    violations.push(`task ${task.id}: ${state} with attempt ${last.number} still ${TaskState[last.state]}`);
  }
  if (FINAL.has(task.state) && task.finishTime === undefined) violations.push(`task ${task.id}: ${state} without a finish time`);
  if (task.state === TaskState.TASK_STATE_COMPLETED && last?.state !== TaskState.TASK_STATE_COMPLETED) {
    violations.push(`task ${task.id}: COMPLETED but its last attempt is ${last ? TaskState[last.state] : 'missing'}`);
  }
  if (expected.cancelled.has(task.id) && task.state !== TaskState.TASK_STATE_CANCELLED) {
    violations.push(`task ${task.id}: cancel was acknowledged as CANCELLED, now ${state}`);
  }
  if (expected.finished && !FINAL.has(task.state)) violations.push(`task ${task.id}: still ${state} at the end`);
  return violations;
}

/** Compares each machine's allocation with the requests of its ASSIGNED and RUNNING tasks. */
function checkAccounting(tasks: Task[], machines: Machine[]): string[] {
  const violations: string[] = [];
  const byMachine = new Map<string, Task[]>();
  for (const task of tasks) {
    if (!PLACED.has(task.state)) continue;
    const list = byMachine.get(task.machineId) ?? [];
    list.push(task);
    byMachine.set(task.machineId, list);
  }
  for (const machine of machines) {
    const placed = byMachine.get(machine.id) ?? [];
    byMachine.delete(machine.id);
    let cpuMilli = 0;
    let memoryMib = 0;
    const gpuMilli = new Map<number, number>();
    const gpuMemoryMib = new Map<number, number>();
    for (const task of placed) {
      const resources = task.spec?.resources;
      cpuMilli += resources?.cpuMilli ?? 0;
      memoryMib += resources?.memoryMib ?? 0;
      const share = resources?.gpuCount ? 1000 : (resources?.gpuMilli ?? 0);
      for (const index of task.gpuIndices) {
        gpuMilli.set(index, (gpuMilli.get(index) ?? 0) + share);
        gpuMemoryMib.set(index, (gpuMemoryMib.get(index) ?? 0) + (resources?.gpuMemoryMib ?? 0));
      }
    }
    const allocated = machine.allocated;
    const where = `machine ${machine.id}`;
    if ((allocated?.cpuMilli ?? 0) !== cpuMilli) violations.push(`${where}: ${allocated?.cpuMilli} millicores allocated, placed tasks request ${cpuMilli}`);
    if ((allocated?.memoryMib ?? 0) !== memoryMib) violations.push(`${where}: ${allocated?.memoryMib} MiB allocated, placed tasks request ${memoryMib}`);
    for (const gpu of allocated?.gpus ?? []) {
      if (gpu.milli !== (gpuMilli.get(gpu.index) ?? 0)) violations.push(`${where}: GPU ${gpu.index} share ${gpu.milli}, placed tasks hold ${gpuMilli.get(gpu.index) ?? 0}`);
      if (gpu.memoryMib !== (gpuMemoryMib.get(gpu.index) ?? 0)) {
        violations.push(`${where}: GPU ${gpu.index} memory ${gpu.memoryMib} MiB, placed tasks hold ${gpuMemoryMib.get(gpu.index) ?? 0}`);
      }
    }
    if (machine.taskCount !== placed.length) violations.push(`${where}: task count ${machine.taskCount}, ${placed.length} tasks placed there`);
  }
  for (const [machineId, placed] of byMachine) violations.push(`${placed.length} tasks placed on unknown machine ${machineId}`);
  return violations;
}

/** Compares specs by their encoding with env sorted, as the server does for a retried submission. */
export function sameSpec(a: TaskSpec, b: TaskSpec): boolean {
  const canonical = (spec: TaskSpec) =>
    TaskSpec.encode({ ...spec, env: Object.fromEntries(Object.entries(spec.env).sort(([x], [y]) => x.localeCompare(y))) }).finish();
  return Buffer.compare(canonical(a), canonical(b)) === 0;
}
