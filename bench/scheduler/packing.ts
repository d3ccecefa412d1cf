import { Scheduler, type MachineSpec, type PolicyName, type TaskDemand } from '../../server/scheduler/index.ts';
import { NaiveScheduler } from './NaiveScheduler.ts';
import { createRandom } from './prng.ts';

export type PackingPolicy = PolicyName | 'random' | 'first-fit';

/**
 * Packing quality after the fragmentation study's method (Weng et al.,
 * USENIX ATC 2023): on the GPU machines only, tasks are drawn with
 * replacement in seeded random order from the trace until the GPUs
 * requested reach 100% of GPU capacity. Tasks never leave and a task that
 * cannot be placed is dropped. Returns the share of GPU capacity left
 * unallocated at the end: 1 - allocated GPU milli / total GPU milli.
 */
export function measureUnallocated(
  machines: readonly MachineSpec[],
  tasks: readonly TaskDemand[],
  policy: PackingPolicy,
  seed: number,
): number {
  const random = createRandom(seed);
  const capacityMilli = machines.reduce((sum, machine) => sum + 1000 * machine.gpus.length, 0);
  const place = placer(machines, policy, seed);

  let requestedMilli = 0;
  let allocatedMilli = 0;
  let drawn = 0;
  while (requestedMilli < capacityMilli) {
    const template = tasks[Math.floor(random() * tasks.length)]!;
    const task = { ...template, id: `${template.id}#${drawn++}` };
    const demandMilli = task.gpuCount > 0 ? 1000 * task.gpuCount : task.gpuMilli;
    requestedMilli += demandMilli;
    if (place(task)) allocatedMilli += demandMilli;
  }
  return 1 - allocatedMilli / capacityMilli;
}

function placer(machines: readonly MachineSpec[], policy: PackingPolicy, seed: number): (task: TaskDemand) => boolean {
  if (policy === 'random' || policy === 'first-fit') {
    const naive = new NaiveScheduler(policy, createRandom(seed + 1_000_003));
    for (const machine of machines) naive.addMachine(machine);
    return (task) => naive.place(task) !== undefined;
  }

  const scheduler = new Scheduler({ defaultPolicy: policy, now: () => 0 });
  for (const machine of machines) scheduler.addMachine(machine);
  return (task) => {
    scheduler.enqueue(task);
    const placed = scheduler.schedule().length > 0;
    if (!placed) scheduler.dequeue(task.id);
    return placed;
  };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
