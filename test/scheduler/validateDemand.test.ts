import { describe, expect, it } from 'vitest';
import { Scheduler, SchedulerError, validateDemand, type TaskDemand } from '../../server/scheduler/index.ts';
import { task } from './fixtures.ts';

describe('validateDemand', () => {
  it('accepts valid demands', () => {
    expect(validateDemand(task('cpu'))).toBeUndefined();
    expect(validateDemand(task('share', { gpuMilli: 1000, gpuMemoryMib: 1024, gpuModels: ['T4'] }))).toBeUndefined();
    expect(validateDemand(task('whole', { gpuCount: 8, priority: -5 }))).toBeUndefined();
  });

  const cases: Array<[string, Partial<TaskDemand>, string]> = [
    ['negative CPU', { cpuMilli: -1 }, 'cpuMilli of task t must be a non-negative safe integer, got -1'],
    ['fractional memory', { memoryMib: 1.5 }, 'memoryMib of task t must be a non-negative safe integer, got 1.5'],
    ['share over 1000', { gpuMilli: 1001 }, 'gpuMilli of task t must be at most 1000 (one whole GPU), got 1001'],
    ['count and share', { gpuCount: 1, gpuMilli: 500 }, 'task t sets both gpuCount 1 and gpuMilli 500'],
    ['GPU memory without GPU', { gpuMemoryMib: 1024 }, 'gpuMemoryMib of task t is 1024 but the task requests no GPU'],
    ['models without GPU', { gpuModels: ['T4'] }, 'gpuModels of task t lists T4 but the task requests no GPU'],
    ['unsafe priority', { priority: 2 ** 60 }, 'priority of task t must be a safe integer'],
    ['unknown policy', { policy: 'fastest' as never }, 'policy of task t must be one of binpack, spread, fgd, got "fastest"'],
    ['empty values for in', { constraints: [{ key: 'zone', op: 'in', values: [] }] }, 'constraints[0] of task t on label zone uses op in but lists no values'],
    ['unknown op', { constraints: [{ key: 'zone', op: 'like' as never, values: ['a'] }] }, 'constraints[0] of task t on label zone has unknown op "like"'],
  ];
  for (const [name, overrides, message] of cases) {
    it(`rejects ${name}`, () => {
      expect(validateDemand(task('t', overrides))).toContain(message);
    });
  }

  it('rejects empty id', () => {
    expect(validateDemand(task(''))).toBe('id must be a non-empty string, got ""');
  });

  it('enqueue throws SchedulerError', () => {
    const scheduler = new Scheduler();
    expect(() => scheduler.enqueue(task('t', { gpuMilli: 2000 }))).toThrow(SchedulerError);
    expect(scheduler.isQueued('t')).toBe(false);
  });

  it('machine spec is validated', () => {
    const scheduler = new Scheduler();
    const gpus = [{ index: 1, model: 'T4', memoryMib: 16384 }];
    expect(() => scheduler.addMachine({ id: 'm', cpuMilli: 1000, memoryMib: 1024, gpus, labels: {} })).toThrow(
      'GPU indices of machine m must be 0..0, each once; got [1]',
    );
    expect(() => scheduler.addMachine({ id: 'm', cpuMilli: -5, memoryMib: 1024, gpus: [], labels: {} })).toThrow(
      'cpuMilli of machine m must be a non-negative safe integer, got -5',
    );
  });
});
