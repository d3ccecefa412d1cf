import { describe, expect, it } from 'vitest';
import { Scheduler, type Constraint } from '../../server/scheduler/index.ts';
import { machine, task } from './fixtures.ts';

function fleet(): Scheduler {
  const scheduler = new Scheduler({ now: () => 0 });
  scheduler.addMachine(machine('east-ssd', 8000, 65536, 0, 'A10', 0, { zone: 'east', disk: 'ssd' }));
  scheduler.addMachine(machine('west', 8000, 65536, 0, 'A10', 0, { zone: 'west' }));
  scheduler.addMachine(machine('bare', 8000, 65536));
  return scheduler;
}

function machinesMatching(constraints: Constraint[]): string[] {
  const scheduler = fleet();
  const matched: string[] = [];
  // Each task takes a whole machine, so successive passes list every match once.
  for (let attempt = 0; attempt < 3; attempt++) {
    scheduler.enqueue(task(`t-${attempt}`, { cpuMilli: 8000, constraints }));
    const placements = scheduler.schedule();
    if (placements.length === 0) break;
    matched.push(placements[0]!.machineId);
  }
  return matched.sort();
}

describe('constraints', () => {
  it('equals uses first value', () => {
    expect(machinesMatching([{ key: 'zone', op: 'equals', values: ['east'] }])).toEqual(['east-ssd']);
  });

  it('in matches listed values', () => {
    expect(machinesMatching([{ key: 'zone', op: 'in', values: ['east', 'west'] }])).toEqual(['east-ssd', 'west']);
  });

  it('not_in matches unlabeled machines', () => {
    expect(machinesMatching([{ key: 'zone', op: 'not_in', values: ['east'] }])).toEqual(['bare', 'west']);
  });

  it('exists requires the label', () => {
    expect(machinesMatching([{ key: 'disk', op: 'exists', values: [] }])).toEqual(['east-ssd']);
  });

  it('not_exists excludes labeled machines', () => {
    expect(machinesMatching([{ key: 'zone', op: 'not_exists', values: [] }])).toEqual(['bare']);
  });

  it('all constraints must hold', () => {
    const constraints: Constraint[] = [
      { key: 'zone', op: 'in', values: ['east', 'west'] },
      { key: 'disk', op: 'not_exists', values: [] },
    ];
    expect(machinesMatching(constraints)).toEqual(['west']);
  });

  it('unmatched constraint explains itself', () => {
    const scheduler = fleet();
    scheduler.enqueue(task('t', { constraints: [{ key: 'zone', op: 'equals', values: ['north'] }] }));
    scheduler.schedule();
    expect(scheduler.queueReason('t')).toBe('no machine matches constraints zone=north; unschedulable on the current fleet');
  });
});
