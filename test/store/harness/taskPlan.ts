import { TaskSpec } from '../../../gen/machinehub/task/v1/task.js';

/** What the harness agents do with a task, named by its command. */
export type TaskKind = 'work' | 'flaky' | 'hold';

export interface PlannedTask {
  kind: TaskKind;
  spec: TaskSpec;
}

/** Returns a seeded pseudo-random generator of floats in [0, 1) (mulberry32), so a failing run can be repeated. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function pick<T>(random: () => number, values: readonly T[]): T {
  return values[Math.floor(random() * values.length)]!;
}

/**
 * Plans `count` tasks with client-chosen ids. The first `holdCount` are
 * "hold" tasks that run until the harness releases them, so the first check
 * finds allocations; the rest finish within tens of ms, and one in ten fails
 * its first attempt to exercise retries. Specs vary the fields the store
 * must keep exactly: GPU shares, stdin bytes, env, args and priorities.
 */
export function planTasks(count: number, holdCount: number, random: () => number, idPrefix: string): PlannedTask[] {
  const tasks: PlannedTask[] = [];
  for (let i = 0; i < count; i++) {
    const kind: TaskKind = i < holdCount ? 'hold' : random() < 0.1 ? 'flaky' : 'work';
    const gpuRoll = random();
    const gpu = kind === 'hold' ? {} : gpuRoll < 0.05 ? { gpuCount: 1 } : gpuRoll < 0.2 ? { gpuMilli: pick(random, [250, 500]) } : {};
    const spec = TaskSpec.fromJSON({
      id: `${idPrefix}-${String(i).padStart(6, '0')}`,
      name: `${kind} task ${i}`,
      command: kind,
      args: ['--index', String(i)],
      env: { INDEX: String(i), KIND: kind },
      priority: kind === 'hold' ? 0 : pick(random, [-1, 0, 0, 1]),
      resources: {
        cpuMilli: kind === 'hold' ? 200 : pick(random, [100, 250, 500, 1000]),
        memoryMib: pick(random, [32, 64, 256]),
        ...gpu,
      },
      retry: { maxAttempts: 3, initialBackoff: '0.050s', maxBackoff: '0.200s' },
    });
    if (random() < 0.3) spec.stdin = Buffer.from(Array.from({ length: 1 + Math.floor(random() * 64) }, () => Math.floor(random() * 256)));
    tasks.push({ kind, spec });
  }
  return tasks;
}
