import { Scheduler, type MachineSpec, type TaskDemand } from '../../server/scheduler/index.ts';
import { createRandom } from './prng.ts';
import { collectGarbage } from './speed.ts';

export interface MemoryResult {
  machines: number;
  tasks: number;
  /** Heap growth after adding the machines, MiB. */
  machinesMib: number;
  /** Further heap growth after enqueueing the tasks, MiB. */
  queuedMib: number;
  /** Heap used by the scheduler with machines and queued tasks, MiB. */
  totalMib: number;
  /** Heap used after one `schedule()` pass placed what fits, MiB. */
  afterPassMib: number;
  placed: number;
}

/** Measures heap used (after a full GC, so run node with --expose-gc) by a fleet plus a large queue. */
export function measureMemory(machines: readonly MachineSpec[], templates: readonly TaskDemand[], taskCount: number): MemoryResult {
  // Task copies are built before the first reading, so the numbers count only what the scheduler keeps.
  const random = createRandom(7);
  const tasks: TaskDemand[] = [];
  for (let index = 0; index < taskCount; index++) {
    const template = templates[Math.floor(random() * templates.length)]!;
    tasks.push({ ...template, id: `queued-${index}` });
  }

  const heapUsed = () => {
    collectGarbage();
    return process.memoryUsage().heapUsed / 1_048_576;
  };
  const before = heapUsed();
  const scheduler = new Scheduler({ now: () => 0 });
  for (const machine of machines) scheduler.addMachine(machine);
  const withMachines = heapUsed();
  for (const task of tasks) scheduler.enqueue(task);
  const withQueue = heapUsed();
  const placed = scheduler.schedule().length;
  const afterPass = heapUsed();
  return {
    machines: machines.length,
    tasks: taskCount,
    machinesMib: withMachines - before,
    queuedMib: withQueue - withMachines,
    totalMib: withQueue - before,
    afterPassMib: afterPass - before,
    placed,
  };
}
