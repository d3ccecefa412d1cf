import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../server/scheduler/index.ts';
import { machine, task } from './fixtures.ts';

describe('reservation', () => {
  it('starving task reserves a machine', () => {
    let now = 0;
    const scheduler = new Scheduler({ now: () => now, reserveAfterMs: 1000 });
    scheduler.addMachine(machine('m-1', 4000, 65536));
    scheduler.enqueue(task('filler-1', { cpuMilli: 2000 }));
    scheduler.enqueue(task('filler-2', { cpuMilli: 2000 }));
    expect(scheduler.schedule()).toHaveLength(2);

    scheduler.enqueue(task('big', { cpuMilli: 4000 }));
    scheduler.schedule();
    now = 1000;
    scheduler.schedule();
    expect(scheduler.stats().reservedMachines).toBe(1);
    expect(scheduler.queueReason('big')).toContain('waiting for reserved machine m-1');

    // A small task may not take CPU the reserved task needs, even though it fits now.
    scheduler.release('filler-1');
    scheduler.enqueue(task('small', { cpuMilli: 1000 }));
    expect(scheduler.schedule()).toEqual([]);
    expect(scheduler.isQueued('small')).toBe(true);

    scheduler.release('filler-2');
    const placements = scheduler.schedule();
    expect(placements.map((placement) => placement.taskId)).toEqual(['big']);
    expect(scheduler.stats().reservedMachines).toBe(0);
  });

  it('admitted tasks cannot delay reservation', () => {
    let now = 0;
    const scheduler = new Scheduler({ now: () => now, reserveAfterMs: 1000 });
    scheduler.addMachine(machine('m-1', 8000, 65536, 2, 'T4', 16384));
    scheduler.enqueue(task('gpu-holder', { cpuMilli: 1000, gpuCount: 1 }));
    scheduler.schedule();

    scheduler.enqueue(task('pair', { cpuMilli: 4000, gpuCount: 2 }));
    now = 2000;
    scheduler.schedule();
    expect(scheduler.stats().reservedMachines).toBe(1);

    // 3000m fits beside the reserved 4000m on the 8000m machine; 4000m more would not.
    scheduler.enqueue(task('cpu-ok', { cpuMilli: 3000 }));
    scheduler.enqueue(task('cpu-too-big', { cpuMilli: 1500 }));
    scheduler.enqueue(task('gpu-blocked', { cpuMilli: 100, gpuMilli: 100 }));
    const placements = scheduler.schedule();
    expect(placements.map((placement) => placement.taskId)).toEqual(['cpu-ok']);
    expect(scheduler.isQueued('cpu-too-big')).toBe(true);
    expect(scheduler.isQueued('gpu-blocked')).toBe(true);

    scheduler.release('gpu-holder');
    const next = scheduler.schedule();
    expect(next[0]).toEqual({ taskId: 'pair', machineId: 'm-1', gpuIndices: [0, 1], gpuMilli: 1000 });
  });

  it('other machines stay usable', () => {
    let now = 0;
    const scheduler = new Scheduler({ now: () => now, reserveAfterMs: 1000 });
    scheduler.addMachine(machine('m-1', 4000, 65536));
    scheduler.enqueue(task('filler', { cpuMilli: 3000 }));
    scheduler.schedule();
    scheduler.enqueue(task('big', { cpuMilli: 4000 }));
    now = 5000;
    scheduler.schedule();
    expect(scheduler.stats().reservedMachines).toBe(1);

    scheduler.addMachine(machine('m-2', 2000, 65536));
    scheduler.enqueue(task('small', { cpuMilli: 1000 }));
    expect(scheduler.schedule()).toEqual([{ taskId: 'small', machineId: 'm-2', gpuIndices: [], gpuMilli: 0 }]);
  });

  it('cancel drops the reservation', () => {
    let now = 0;
    const scheduler = new Scheduler({ now: () => now, reserveAfterMs: 1000 });
    scheduler.addMachine(machine('m-1', 4000, 65536));
    scheduler.enqueue(task('filler', { cpuMilli: 3000 }));
    scheduler.schedule();
    scheduler.enqueue(task('big', { cpuMilli: 4000 }));
    now = 5000;
    scheduler.schedule();
    expect(scheduler.stats().reservedMachines).toBe(1);

    expect(scheduler.dequeue('big')).toBe(true);
    expect(scheduler.stats().reservedMachines).toBe(0);
    scheduler.enqueue(task('small', { cpuMilli: 1000 }));
    expect(scheduler.schedule().map((placement) => placement.taskId)).toEqual(['small']);
  });

  it('draining machine drops the reservation', () => {
    let now = 0;
    const scheduler = new Scheduler({ now: () => now, reserveAfterMs: 1000 });
    scheduler.addMachine(machine('m-1', 4000, 65536));
    scheduler.enqueue(task('filler', { cpuMilli: 3000 }));
    scheduler.schedule();
    scheduler.enqueue(task('big', { cpuMilli: 4000 }));
    now = 5000;
    scheduler.schedule();
    scheduler.setSchedulable('m-1', false);
    expect(scheduler.stats().reservedMachines).toBe(0);
    expect(scheduler.queueReason('big')).toContain('unschedulable');
  });
});
