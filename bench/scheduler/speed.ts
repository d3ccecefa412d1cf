import { Scheduler, type MachineSpec, type TaskDemand } from '../../server/scheduler/index.ts';
import { NaiveScheduler } from './NaiveScheduler.ts';

export interface SpeedResult {
  placements: number;
  /** Tasks decided (placed or left queued). */
  decisions: number;
  /** Median over runs of placements per wall-clock second for one pass over every task. */
  placementsPerSecond: number;
  /** Fastest run's placements per wall-clock second, the least disturbed by other jobs. */
  bestPlacementsPerSecond: number;
  /** 99th percentile of the time one placement decision takes, microseconds. */
  p99Micros: number;
}

/**
 * Submits every task at once and times `schedule()`. Throughput is the
 * median of `runs` fresh passes, after `warmups` untimed passes that let the
 * JIT compile the hot paths. The p99 comes from a separate run that calls
 * `schedule(1)` until nothing more places, timing each call, so one call is
 * one placement decision (the last call decides every task left).
 */
export function measureScheduler(machines: readonly MachineSpec[], tasks: readonly TaskDemand[], runs: number, warmups: number): SpeedResult {
  for (let warmup = 0; warmup < warmups; warmup++) build(machines, tasks).schedule();

  const rates: number[] = [];
  let placements = 0;
  for (let run = 0; run < runs; run++) {
    const scheduler = build(machines, tasks);
    collectGarbage();
    const start = performance.now();
    placements = scheduler.schedule().length;
    rates.push(placements / ((performance.now() - start) / 1000));
  }

  const scheduler = build(machines, tasks);
  collectGarbage();
  const durations: number[] = [];
  for (;;) {
    const start = performance.now();
    const placed = scheduler.schedule(1).length;
    durations.push(performance.now() - start);
    if (placed === 0) break;
  }
  return {
    placements,
    decisions: tasks.length,
    placementsPerSecond: median(rates),
    bestPlacementsPerSecond: Math.max(...rates),
    p99Micros: 1000 * percentile(durations, 0.99),
  };
}

/**
 * Times the naive first-fit baseline, one task at a time in trace order.
 * `maxTasks` bounds the number of tasks timed (the rest are skipped) so the
 * baseline stays within the benchmark's time budget on large fleets.
 */
export function measureFirstFit(machines: readonly MachineSpec[], tasks: readonly TaskDemand[], maxTasks: number): SpeedResult {
  const naive = new NaiveScheduler('first-fit');
  for (const machine of machines) naive.addMachine(machine);
  collectGarbage();
  const durations: number[] = [];
  let placements = 0;
  for (const task of tasks.slice(0, maxTasks)) {
    const start = performance.now();
    if (naive.place(task) !== undefined) placements++;
    durations.push(performance.now() - start);
  }
  const seconds = durations.reduce((sum, duration) => sum + duration, 0) / 1000;
  const rate = placements / seconds;
  return { placements, decisions: durations.length, placementsPerSecond: rate, bestPlacementsPerSecond: rate, p99Micros: 1000 * percentile(durations, 0.99) };
}

function build(machines: readonly MachineSpec[], tasks: readonly TaskDemand[]): Scheduler {
  // A fixed clock keeps reservations out of the measurement.
  const scheduler = new Scheduler({ now: () => 0 });
  for (const machine of machines) scheduler.addMachine(machine);
  for (const task of tasks) scheduler.enqueue(task);
  return scheduler;
}

export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function percentile(values: readonly number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? 0;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] ?? 0;
}
