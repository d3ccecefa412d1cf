import { describe, expect, it } from 'vitest';
import { Scheduler, type MachineSpec, type Placement, type PolicyName, type TaskDemand } from '../../server/scheduler/index.ts';
import { createRandom } from '../../bench/scheduler/prng.ts';
import { machine, task } from './fixtures.ts';

/** What the test itself believes is placed, kept apart from the scheduler. */
interface Held {
  task: TaskDemand;
  placement: Placement;
}

const MODELS = ['T4', 'A10', 'V100M32'];
const MEMORY_BY_MODEL: Record<string, number> = { T4: 16384, A10: 24576, V100M32: 32768 };

function randomMachine(random: () => number, id: string): MachineSpec {
  const gpuCount = [0, 0, 1, 2, 4, 8][Math.floor(random() * 6)]!;
  const model = MODELS[Math.floor(random() * MODELS.length)]!;
  const labels: Record<string, string> = random() < 0.5 ? { zone: random() < 0.5 ? 'a' : 'b' } : {};
  return machine(id, 1000 * (4 + Math.floor(random() * 60)), 1024 * (8 + Math.floor(random() * 120)), gpuCount, model, MEMORY_BY_MODEL[model], labels);
}

function randomTask(random: () => number, id: string): TaskDemand {
  // 30% CPU-only, 30% whole GPUs, 40% a share of one GPU.
  const kind = random();
  let gpuCount = 0;
  let gpuMilli = 0;
  if (kind >= 0.3 && kind < 0.6) gpuCount = 1 + Math.floor(random() * 4);
  if (kind >= 0.6) gpuMilli = [100, 250, 330, 500, 999, 1000][Math.floor(random() * 6)]!;
  const usesGpu = gpuCount > 0 || gpuMilli > 0;
  const policies: Array<PolicyName | undefined> = [undefined, 'binpack', 'spread', 'fgd'];
  return task(id, {
    priority: Math.floor(random() * 3),
    cpuMilli: 100 * Math.floor(random() * 200),
    memoryMib: 256 * Math.floor(random() * 64),
    gpuCount,
    gpuMilli,
    gpuMemoryMib: usesGpu && random() < 0.5 ? 1024 * Math.floor(random() * 20) : 0,
    gpuModels: usesGpu && random() < 0.2 ? [MODELS[Math.floor(random() * MODELS.length)]!] : [],
    constraints: random() < 0.2 ? [{ key: 'zone', op: random() < 0.5 ? 'equals' : 'not_in', values: ['a'] }] : [],
    policy: policies[Math.floor(random() * policies.length)],
  });
}

/** Independent fit check on the test's own bookkeeping, used to prove no queued task was skipped wrongly. */
function fitsSomewhere(
  demand: TaskDemand,
  machines: Map<string, { spec: MachineSpec; schedulable: boolean }>,
  held: Map<string, Held>,
): boolean {
  const whole = demand.gpuCount > 0 || demand.gpuMilli === 1000;
  const count = whole ? Math.max(demand.gpuCount, 1) : demand.gpuMilli > 0 ? 1 : 0;
  const share = whole ? 1000 : demand.gpuMilli;
  const usages = usageByMachine(machines, held);
  for (const { spec, schedulable } of machines.values()) {
    if (!schedulable) continue;
    const usage = usages.get(spec.id)!;
    if (usage.cpuMilli + demand.cpuMilli > spec.cpuMilli || usage.memoryMib + demand.memoryMib > spec.memoryMib) continue;
    if (!labelsMatch(spec, demand)) continue;
    let devices = 0;
    for (const gpu of spec.gpus) {
      if (demand.gpuModels.length > 0 && !demand.gpuModels.includes(gpu.model)) continue;
      const used = usage.gpuMilli[gpu.index]!;
      const fits = whole ? used === 0 : used + share <= 1000;
      if (fits && usage.gpuMemoryMib[gpu.index]! + demand.gpuMemoryMib <= gpu.memoryMib) devices++;
    }
    if (devices >= count) return true;
  }
  return false;
}

function labelsMatch(spec: MachineSpec, demand: TaskDemand): boolean {
  return demand.constraints.every((constraint) => {
    const value = spec.labels[constraint.key];
    if (constraint.op === 'equals') return value === constraint.values[0];
    if (constraint.op === 'not_in') return value === undefined || !constraint.values.includes(value);
    throw new Error(`test generates no ${constraint.op} constraints`);
  });
}

interface Usage {
  cpuMilli: number;
  memoryMib: number;
  gpuMilli: number[];
  gpuMemoryMib: number[];
  /** Tasks holding each device. */
  holders: number[];
}

/** Recomputes every machine's usage from the test's own placements. */
function usageByMachine(machines: Map<string, { spec: MachineSpec }>, held: Map<string, Held>): Map<string, Usage> {
  const usages = new Map<string, Usage>();
  for (const { spec } of machines.values()) {
    usages.set(spec.id, { cpuMilli: 0, memoryMib: 0, gpuMilli: spec.gpus.map(() => 0), gpuMemoryMib: spec.gpus.map(() => 0), holders: spec.gpus.map(() => 0) });
  }
  for (const { task: demand, placement } of held.values()) {
    const usage = usages.get(placement.machineId)!;
    usage.cpuMilli += demand.cpuMilli;
    usage.memoryMib += demand.memoryMib;
    for (const index of placement.gpuIndices) {
      usage.gpuMilli[index]! += placement.gpuMilli;
      usage.gpuMemoryMib[index]! += demand.gpuMemoryMib;
      usage.holders[index]! += 1;
    }
  }
  return usages;
}

describe('randomized scheduling', () => {
  it('invariants hold under churn', () => {
    const random = createRandom(20231);
    // Reservations off, so every queued task that fits anywhere must be placed by the pass.
    const scheduler = new Scheduler({ reserveAfterMs: Number.MAX_SAFE_INTEGER, now: () => 0 });
    const machines = new Map<string, { spec: MachineSpec; schedulable: boolean }>();
    const held = new Map<string, Held>();
    const queued = new Map<string, TaskDemand>();
    let nextMachine = 0;
    let nextTask = 0;
    let placedTotal = 0;

    const addMachine = () => {
      const spec = randomMachine(random, `m-${nextMachine++}`);
      scheduler.addMachine(spec);
      machines.set(spec.id, { spec, schedulable: true });
    };
    for (let index = 0; index < 12; index++) addMachine();

    for (let step = 0; step < 4000; step++) {
      const action = random();
      if (action < 0.4) {
        const demand = randomTask(random, `t-${nextTask++}`);
        scheduler.enqueue(demand);
        queued.set(demand.id, demand);
      } else if (action < 0.6) {
        const ids = [...held.keys()];
        const id = ids[Math.floor(random() * ids.length)];
        if (id !== undefined) {
          expect(scheduler.release(id)).toBe(true);
          held.delete(id);
        }
      } else if (action < 0.7) {
        const ids = [...queued.keys()];
        const id = ids[Math.floor(random() * ids.length)];
        if (id !== undefined) {
          expect(scheduler.dequeue(id)).toBe(true);
          queued.delete(id);
        }
      } else if (action < 0.72) {
        const ids = [...machines.keys()];
        const id = ids[Math.floor(random() * ids.length)];
        if (id !== undefined && machines.size > 8) {
          const lost = scheduler.removeMachine(id).sort();
          const expected = [...held.values()].filter((entry) => entry.placement.machineId === id).map((entry) => entry.task.id).sort();
          expect(lost).toEqual(expected);
          for (const taskId of lost) held.delete(taskId);
          machines.delete(id);
        }
      } else if (action < 0.75) {
        addMachine();
      } else if (action < 0.78) {
        const entries = [...machines.values()];
        const entry = entries[Math.floor(random() * entries.length)];
        if (entry !== undefined) {
          entry.schedulable = !entry.schedulable;
          scheduler.setSchedulable(entry.spec.id, entry.schedulable);
        }
      } else {
        for (const placement of scheduler.schedule()) {
          const demand = queued.get(placement.taskId);
          expect(demand, `placed task ${placement.taskId} was queued`).toBeDefined();
          const entry = machines.get(placement.machineId);
          expect(entry?.schedulable, `machine ${placement.machineId} is schedulable`).toBe(true);
          expect(labelsMatch(entry!.spec, demand!)).toBe(true);
          for (const index of placement.gpuIndices) {
            const model = entry!.spec.gpus[index]!.model;
            if (demand!.gpuModels.length > 0) expect(demand!.gpuModels).toContain(model);
          }
          queued.delete(placement.taskId);
          held.set(placement.taskId, { task: demand!, placement });
        }
        placedTotal += held.size;
        for (const demand of queued.values()) {
          expect(fitsSomewhere(demand, machines, held), `queued task ${demand.id} fits but was skipped`).toBe(false);
        }
        // Reasons scan the fleet, so a sample per pass keeps the test fast.
        for (const demand of [...queued.values()].slice(0, 3)) {
          expect(scheduler.queueReason(demand.id)).toMatch(/needs|no machine|unschedulable|reserved/);
        }
      }

      const violations = findViolations(scheduler, machines, held, queued);
      if (violations.length > 0) expect(violations, `step ${step}`).toEqual([]);
    }
    // The run must exercise placement, not only queueing.
    expect(placedTotal).toBeGreaterThan(1000);
    expect(nextMachine).toBeGreaterThan(20);
  });
});

/**
 * Compares the scheduler with an independent recomputation and returns
 * every violation found. Plain comparisons keep thousands of steps fast;
 * the caller asserts the list is empty.
 */
function findViolations(
  scheduler: Scheduler,
  machines: Map<string, { spec: MachineSpec; schedulable: boolean }>,
  held: Map<string, Held>,
  queued: Map<string, TaskDemand>,
): string[] {
  const violations: string[] = [];
  const check = (condition: boolean, message: string) => {
    if (!condition) violations.push(message);
  };
  let cpuMilliAllocated = 0;
  let gpuMilliAllocated = 0;
  const usages = usageByMachine(machines, held);
  for (const { spec } of machines.values()) {
    const usage = usages.get(spec.id)!;
    const allocation = scheduler.machineAllocation(spec.id)!;
    check(allocation.cpuMilli === usage.cpuMilli, `${spec.id} CPU ${allocation.cpuMilli} != recomputed ${usage.cpuMilli}`);
    check(allocation.memoryMib === usage.memoryMib, `${spec.id} memory ${allocation.memoryMib} != recomputed ${usage.memoryMib}`);
    check(usage.cpuMilli <= spec.cpuMilli, `${spec.id} CPU over-allocated: ${usage.cpuMilli} > ${spec.cpuMilli}`);
    check(usage.memoryMib <= spec.memoryMib, `${spec.id} memory over-allocated: ${usage.memoryMib} > ${spec.memoryMib}`);
    for (const gpu of spec.gpus) {
      const index = gpu.index;
      check(allocation.gpuMilli[index] === usage.gpuMilli[index], `${spec.id} GPU ${index} share ${allocation.gpuMilli[index]} != recomputed ${usage.gpuMilli[index]}`);
      check(allocation.gpuMemoryMib[index] === usage.gpuMemoryMib[index], `${spec.id} GPU ${index} memory differs from recomputed`);
      check(usage.gpuMilli[index]! <= 1000, `${spec.id} GPU ${index} share over 1000: ${usage.gpuMilli[index]}`);
      check(usage.gpuMemoryMib[index]! <= gpu.memoryMib, `${spec.id} GPU ${index} memory over capacity`);
    }
    cpuMilliAllocated += usage.cpuMilli;
    gpuMilliAllocated += usage.gpuMilli.reduce((sum, used) => sum + used, 0);
  }
  for (const { placement } of held.values()) {
    if (placement.gpuMilli !== 1000) continue;
    // A whole device has exactly one holder, so whole-GPU device sets are disjoint from every other task's.
    const usage = usages.get(placement.machineId)!;
    for (const index of placement.gpuIndices) {
      check(usage.holders[index] === 1, `${placement.machineId} GPU ${index} held whole by ${placement.taskId} has ${usage.holders[index]} holders`);
    }
  }
  const stats = scheduler.stats();
  check(stats.placed === held.size, `stats.placed ${stats.placed} != ${held.size}`);
  check(stats.queued === queued.size, `stats.queued ${stats.queued} != ${queued.size}`);
  check(stats.machines === machines.size, `stats.machines ${stats.machines} != ${machines.size}`);
  const schedulable = [...machines.values()].filter((entry) => entry.schedulable).length;
  check(stats.schedulableMachines === schedulable, `stats.schedulableMachines ${stats.schedulableMachines} != ${schedulable}`);
  check(stats.cpuMilliAllocated === cpuMilliAllocated, `stats.cpuMilliAllocated ${stats.cpuMilliAllocated} != ${cpuMilliAllocated}`);
  check(stats.gpuMilliAllocated === gpuMilliAllocated, `stats.gpuMilliAllocated ${stats.gpuMilliAllocated} != ${gpuMilliAllocated}`);
  for (const id of queued.keys()) check(scheduler.isQueued(id), `task ${id} should be queued`);
  return violations;
}
