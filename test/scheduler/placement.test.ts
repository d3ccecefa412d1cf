import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../server/scheduler/index.ts';
import { machine, task } from './fixtures.ts';

describe('Scheduler placement', () => {
  it('no head-of-line blocking', () => {
    const scheduler = new Scheduler({ now: () => 0 });
    scheduler.addMachine(machine('m-1', 8000, 65536));
    scheduler.enqueue(task('H', { priority: 10, cpuMilli: 16000 }));
    for (const id of ['L1', 'L2', 'L3', 'L4']) scheduler.enqueue(task(id, { cpuMilli: 1000 }));

    const placements = scheduler.schedule();

    expect(placements.map((placement) => placement.taskId)).toEqual(['L1', 'L2', 'L3', 'L4']);
    expect(scheduler.isQueued('H')).toBe(true);
    expect(scheduler.queueReason('H')).toContain('needs 16000m CPU, largest machine has 8000m');
    expect(scheduler.queueReason('H')).toContain('unschedulable on the current fleet');
  });

  it('multi-GPU tasks get disjoint sets', () => {
    const scheduler = new Scheduler({ now: () => 0 });
    scheduler.addMachine(machine('m-1', 32000, 131072, 4, 'A10', 24576));
    scheduler.enqueue(task('two-a', { gpuCount: 2, gpuMemoryMib: 24576 }));
    scheduler.enqueue(task('two-b', { gpuCount: 2, gpuMemoryMib: 24576 }));
    scheduler.enqueue(task('one', { gpuCount: 1 }));

    const first = scheduler.schedule();

    expect(first.map((placement) => placement.taskId)).toEqual(['two-a', 'two-b']);
    const sets = first.map((placement) => placement.gpuIndices);
    expect(sets).toContainEqual([0, 1]);
    expect(sets).toContainEqual([2, 3]);
    expect(first.every((placement) => placement.gpuMilli === 1000)).toBe(true);
    expect(scheduler.isQueued('one')).toBe(true);
    expect(scheduler.queueReason('one')).toContain('no machine has 1 free GPU; best candidate m-1 has 0 free');

    expect(scheduler.release('two-b')).toBe(true);
    const second = scheduler.schedule();
    expect(second).toHaveLength(1);
    expect(second[0]!.taskId).toBe('one');
    expect(sets.find((set) => set.includes(second[0]!.gpuIndices[0]!))).toEqual(
      first.find((placement) => placement.taskId === 'two-b')!.gpuIndices,
    );
  });

  it('integer sums fill machines exactly', () => {
    const scheduler = new Scheduler({ now: () => 0 });
    for (let index = 0; index < 7; index++) scheduler.addMachine(machine(`m-${index}`, 9500, 65536));
    for (let index = 0; index < 63; index++) scheduler.enqueue(task(`t-${index}`, { cpuMilli: 1000, memoryMib: 0 }));
    expect(scheduler.schedule()).toHaveLength(63);

    const small = new Scheduler({ now: () => 0 });
    small.addMachine(machine('one-cpu', 1000, 1024));
    for (let index = 0; index < 10; index++) small.enqueue(task(`s-${index}`, { cpuMilli: 100, memoryMib: 0 }));
    small.enqueue(task('s-extra', { cpuMilli: 100, memoryMib: 0 }));
    expect(small.schedule()).toHaveLength(10);
    expect(small.machineAllocation('one-cpu')!.cpuMilli).toBe(1000);
    expect(small.isQueued('s-extra')).toBe(true);
  });

  it('release returns resources exactly', () => {
    const scheduler = new Scheduler({ now: () => 0 });
    scheduler.addMachine(machine('m-1', 4000, 8192, 1, 'T4', 16384));
    scheduler.enqueue(task('a', { cpuMilli: 3000, memoryMib: 6000, gpuMilli: 700, gpuMemoryMib: 10000 }));
    scheduler.enqueue(task('b', { cpuMilli: 3000, memoryMib: 6000, gpuMilli: 700, gpuMemoryMib: 10000 }));
    expect(scheduler.schedule().map((placement) => placement.taskId)).toEqual(['a']);

    expect(scheduler.release('a')).toBe(true);
    expect(scheduler.release('a')).toBe(false);
    expect(scheduler.machineAllocation('m-1')).toEqual({ cpuMilli: 0, memoryMib: 0, gpuMilli: [0], gpuMemoryMib: [0] });
    expect(scheduler.schedule().map((placement) => placement.taskId)).toEqual(['b']);
  });

  it('removeMachine returns its tasks', () => {
    const scheduler = new Scheduler({ now: () => 0 });
    scheduler.addMachine(machine('m-1', 2000, 4096));
    scheduler.enqueue(task('a'));
    scheduler.enqueue(task('b'));
    expect(scheduler.schedule()).toHaveLength(2);

    expect(scheduler.removeMachine('m-1').sort()).toEqual(['a', 'b']);
    expect(scheduler.stats()).toMatchObject({ machines: 0, placed: 0, cpuMilliAllocated: 0, cpuMilliCapacity: 0 });
    expect(scheduler.release('a')).toBe(false);

    scheduler.enqueue(task('a'));
    expect(scheduler.schedule()).toHaveLength(0);
    scheduler.addMachine(machine('m-2', 2000, 4096));
    expect(scheduler.schedule().map((placement) => placement.machineId)).toEqual(['m-2']);
  });

  it('unschedulable machine takes nothing new', () => {
    const scheduler = new Scheduler({ now: () => 0 });
    scheduler.addMachine(machine('m-1', 2000, 4096));
    scheduler.enqueue(task('a'));
    scheduler.schedule();
    scheduler.setSchedulable('m-1', false);
    scheduler.enqueue(task('b'));

    expect(scheduler.schedule()).toHaveLength(0);
    expect(scheduler.machineAllocation('m-1')!.cpuMilli).toBe(1000);
    expect(scheduler.queueReason('b')).toContain('unschedulable');

    scheduler.setSchedulable('m-1', true);
    expect(scheduler.schedule().map((placement) => placement.taskId)).toEqual(['b']);
  });

  it('GPU shares sum to at most 1000', () => {
    const scheduler = new Scheduler({ now: () => 0 });
    scheduler.addMachine(machine('m-1', 64000, 262144, 2, 'T4', 16384));
    for (let index = 0; index < 7; index++) scheduler.enqueue(task(`s-${index}`, { gpuMilli: 300 }));

    const placements = scheduler.schedule();

    expect(placements).toHaveLength(6);
    expect(placements.every((placement) => placement.gpuIndices.length === 1 && placement.gpuMilli === 300)).toBe(true);
    expect(scheduler.machineAllocation('m-1')!.gpuMilli).toEqual([900, 900]);
    expect(scheduler.isQueued('s-6')).toBe(true);
    expect(scheduler.queueReason('s-6')).toContain('no machine has a GPU with 300/1000 free; best candidate m-1 has at most 100/1000 free');
  });

  it('GPU memory checked per device', () => {
    const scheduler = new Scheduler({ now: () => 0 });
    scheduler.addMachine(machine('m-1', 64000, 262144, 2, 'T4', 16384));
    scheduler.enqueue(task('big-a', { gpuMilli: 100, gpuMemoryMib: 10000 }));
    scheduler.enqueue(task('big-b', { gpuMilli: 100, gpuMemoryMib: 10000 }));
    scheduler.enqueue(task('big-c', { gpuMilli: 100, gpuMemoryMib: 10000 }));
    scheduler.enqueue(task('too-big', { gpuMilli: 100, gpuMemoryMib: 20000 }));

    const placements = scheduler.schedule();

    expect(placements.map((placement) => placement.taskId)).toEqual(['big-a', 'big-b']);
    expect(new Set(placements.map((placement) => placement.gpuIndices[0])).size).toBe(2);
    expect(scheduler.machineAllocation('m-1')!.gpuMemoryMib).toEqual([10000, 10000]);
    expect(scheduler.queueReason('big-c')).toContain('with 10000 MiB free');
    expect(scheduler.queueReason('too-big')).toContain('needs 20000 MiB memory per GPU, largest GPU has 16384 MiB');
  });

  it('whole GPUs skip shared devices', () => {
    const scheduler = new Scheduler({ now: () => 0 });
    scheduler.addMachine(machine('m-1', 64000, 262144, 2, 'T4', 16384));
    scheduler.enqueue(task('share', { gpuMilli: 100 }));
    scheduler.enqueue(task('pair', { gpuCount: 2 }));
    scheduler.enqueue(task('single', { gpuCount: 1 }));

    const placements = scheduler.schedule();

    expect(placements.map((placement) => placement.taskId)).toEqual(['share', 'single']);
    const shared = placements[0]!.gpuIndices[0];
    expect(placements[1]!.gpuIndices).toEqual([shared === 0 ? 1 : 0]);
    expect(scheduler.queueReason('pair')).toContain('no machine has 2 free GPUs; best candidate m-1 has 0 free');
  });

  it('share of 1000 takes a whole GPU', () => {
    const scheduler = new Scheduler({ now: () => 0 });
    scheduler.addMachine(machine('m-1', 64000, 262144, 1, 'T4', 16384));
    scheduler.enqueue(task('full', { gpuMilli: 1000 }));
    scheduler.enqueue(task('share', { gpuMilli: 10 }));

    const placements = scheduler.schedule();

    expect(placements).toEqual([{ taskId: 'full', machineId: 'm-1', gpuIndices: [0], gpuMilli: 1000 }]);
    expect(scheduler.isQueued('share')).toBe(true);
  });

  it('GPU models restrict devices', () => {
    const scheduler = new Scheduler({ now: () => 0 });
    scheduler.addMachine(machine('t4', 64000, 262144, 2, 'T4', 16384));
    scheduler.addMachine(machine('a10', 64000, 262144, 2, 'A10', 24576));
    scheduler.enqueue(task('wants-a10', { gpuCount: 1, gpuModels: ['A10'] }));
    scheduler.enqueue(task('wants-v100', { gpuCount: 1, gpuModels: ['V100M32'] }));

    const placements = scheduler.schedule();

    expect(placements.map((placement) => placement.machineId)).toEqual(['a10']);
    expect(scheduler.queueReason('wants-v100')).toContain('needs GPU model V100M32, no machine has one');
  });

  it('CPU tasks prefer CPU machines', () => {
    const scheduler = new Scheduler({ now: () => 0 });
    scheduler.addMachine(machine('gpu', 64000, 262144, 8, 'A10', 24576));
    scheduler.addMachine(machine('cpu', 4000, 8192));
    for (const policy of ['fgd', 'binpack', 'spread'] as const) scheduler.enqueue(task(`c-${policy}`, { cpuMilli: 1000, policy }));
    scheduler.enqueue(task('c-overflow', { cpuMilli: 2000 }));

    const placements = scheduler.schedule();

    const byTask = new Map(placements.map((placement) => [placement.taskId, placement.machineId]));
    expect(byTask.get('c-fgd')).toBe('cpu');
    expect(byTask.get('c-binpack')).toBe('cpu');
    expect(byTask.get('c-spread')).toBe('cpu');
    expect(byTask.get('c-overflow')).toBe('gpu');
  });

  it('policies choose different machines', () => {
    const scheduler = new Scheduler({ now: () => 0 });
    scheduler.addMachine(machine('busy', 8000, 16384));
    scheduler.addMachine(machine('idle', 8000, 16384));
    scheduler.enqueue(task('seed', { cpuMilli: 4000, memoryMib: 8192, policy: 'binpack' }));
    const [seed] = scheduler.schedule();
    const busy = seed!.machineId;

    scheduler.enqueue(task('packed', { policy: 'binpack' }));
    scheduler.enqueue(task('spread', { policy: 'spread' }));
    const placements = new Map(scheduler.schedule().map((placement) => [placement.taskId, placement.machineId]));

    expect(placements.get('packed')).toBe(busy);
    expect(placements.get('spread')).not.toBe(busy);
  });

  it('priority order then FIFO', () => {
    const scheduler = new Scheduler({ now: () => 0 });
    scheduler.enqueue(task('low-1', { priority: 1 }));
    scheduler.enqueue(task('high-1', { priority: 5 }));
    scheduler.enqueue(task('low-2', { priority: 1 }));
    scheduler.enqueue(task('high-2', { priority: 5 }));
    scheduler.enqueue(task('negative', { priority: -3 }));
    scheduler.addMachine(machine('m-1', 3000, 65536));

    expect(scheduler.schedule().map((placement) => placement.taskId)).toEqual(['high-1', 'high-2', 'low-1']);
    expect(scheduler.queueReason('low-2')).toContain('no machine has 1000m CPU free; best candidate m-1 has 0m free');
    expect(scheduler.schedule(1)).toEqual([]);
  });

  it('maxPlacements bounds one pass', () => {
    const scheduler = new Scheduler({ now: () => 0 });
    scheduler.addMachine(machine('m-1', 8000, 65536));
    for (let index = 0; index < 5; index++) scheduler.enqueue(task(`t-${index}`));

    expect(scheduler.schedule(2).map((placement) => placement.taskId)).toEqual(['t-0', 't-1']);
    expect(scheduler.queueReason('t-3')).toBe('waiting for the next scheduling pass');
    expect(scheduler.schedule().map((placement) => placement.taskId)).toEqual(['t-2', 't-3', 't-4']);
  });

  it('dequeue cancels queued tasks', () => {
    const scheduler = new Scheduler({ now: () => 0 });
    scheduler.enqueue(task('a'));
    expect(scheduler.dequeue('a')).toBe(true);
    expect(scheduler.dequeue('a')).toBe(false);
    expect(scheduler.isQueued('a')).toBe(false);
    expect(scheduler.queueReason('a')).toBeUndefined();
    scheduler.addMachine(machine('m-1', 8000, 65536));
    expect(scheduler.schedule()).toEqual([]);
  });

  it('adopt records existing allocations', () => {
    const scheduler = new Scheduler({ now: () => 0 });
    scheduler.addMachine(machine('m-1', 8000, 65536, 2, 'T4', 16384));
    const whole = task('whole', { gpuCount: 1 });
    const share = task('share', { gpuMilli: 600 });

    expect(scheduler.adopt(whole, 'm-1', [1], 1000)).toBe(true);
    expect(scheduler.adopt(share, 'm-1', [1], 600)).toBe(false);
    expect(scheduler.adopt(share, 'm-1', [0], 500)).toBe(false);
    expect(scheduler.adopt(share, 'm-1', [0], 600)).toBe(true);
    expect(scheduler.adopt(task('more', { gpuMilli: 500 }), 'm-1', [0], 500)).toBe(false);
    expect(scheduler.adopt(task('cpu', { cpuMilli: 9000 }), 'm-1', [], 0)).toBe(false);
    expect(scheduler.machineAllocation('m-1')!.gpuMilli).toEqual([600, 1000]);
    expect(scheduler.stats().placed).toBe(2);

    scheduler.enqueue(task('queued', { gpuMilli: 400 }));
    expect(scheduler.adopt(task('queued', { gpuMilli: 400 }), 'm-1', [0], 400)).toBe(true);
    expect(scheduler.isQueued('queued')).toBe(false);
    expect(scheduler.machineAllocation('m-1')!.gpuMilli).toEqual([1000, 1000]);
  });

  it('duplicate ids are rejected', () => {
    const scheduler = new Scheduler({ now: () => 0 });
    scheduler.addMachine(machine('m-1', 8000, 65536));
    expect(() => scheduler.addMachine(machine('m-1', 8000, 65536))).toThrow('machine m-1 already exists');
    scheduler.enqueue(task('a'));
    expect(() => scheduler.enqueue(task('a'))).toThrow('task a is already queued');
    scheduler.schedule();
    expect(() => scheduler.enqueue(task('a'))).toThrow('task a is already placed');
    expect(() => scheduler.removeMachine('nope')).toThrow('machine nope not found');
  });
});
