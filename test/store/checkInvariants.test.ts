import { describe, expect, it } from 'vitest';
import { MachineStatus, type Machine } from '../../gen/machinehub/machine/v1/machine.js';
import { Task, TaskSpec, TaskState } from '../../gen/machinehub/task/v1/task.js';
import { checkInvariants, type Expectations } from './harness/checkInvariants.js';

function spec(id: string): TaskSpec {
  return TaskSpec.fromJSON({ id, command: 'work', resources: { cpuMilli: 500, memoryMib: 64, gpuMilli: 250 } });
}

function runningTask(id: string, machineId: string): Task {
  return Task.fromJSON({
    id,
    spec: TaskSpec.toJSON(spec(id)),
    state: 'TASK_STATE_RUNNING',
    attempt: 1,
    machineId,
    gpuIndices: [0],
    attempts: [{ number: 1, machineId, gpuIndices: [0], state: 'TASK_STATE_RUNNING', exitCode: -1 }],
  });
}

function machine(id: string, cpuMilli: number, taskCount: number, gpuMilli = 250): Machine {
  return {
    id,
    capacity: { cpuMilli: 8000, memoryMib: 16384, gpus: [{ index: 0, model: 'T4', memoryMib: 16384 }] },
    allocated: { cpuMilli, memoryMib: 64 * taskCount, gpus: [{ index: 0, milli: gpuMilli, memoryMib: 0 }] },
    labels: {},
    status: MachineStatus.MACHINE_STATUS_READY,
    agentId: id,
    lastHeartbeatTime: undefined,
    taskCount,
    statusReason: '',
  };
}

function expecting(ids: string[], finished = false): Expectations {
  return { acknowledged: new Map(ids.map((id) => [id, spec(id)])), cancelled: new Set(), finished };
}

describe('crash test invariants', () => {
  it('consistent snapshot has no violations', () => {
    expect(checkInvariants([runningTask('a', 'm')], [machine('m', 500, 1)], expecting(['a']))).toEqual([]);
  });

  it('reports a missing acknowledged task', () => {
    expect(checkInvariants([], [machine('m', 0, 0, 0)], expecting(['a']))).toEqual(['acknowledged task a is missing']);
  });

  it('reports a task listed twice', () => {
    const violations = checkInvariants([runningTask('a', 'm'), runningTask('a', 'm')], [machine('m', 1000, 2, 500)], expecting(['a']));
    expect(violations).toEqual(['task a is listed twice']);
  });

  it('reports allocation differing from tasks', () => {
    const violations = checkInvariants([runningTask('a', 'm')], [machine('m', 700, 1, 500)], expecting(['a']));
    expect(violations).toEqual([
      'machine m: 700 millicores allocated, placed tasks request 500',
      'machine m: GPU 0 share 500, placed tasks hold 250',
    ]);
  });

  it('reports a changed spec', () => {
    const task = runningTask('a', 'm');
    task.spec = { ...task.spec!, args: ['changed'] };
    expect(checkInvariants([task], [machine('m', 500, 1)], expecting(['a']))).toEqual(['task a has a spec other than the one submitted']);
  });

  it('reports unfinished tasks at the end', () => {
    const violations = checkInvariants([runningTask('a', 'm')], [machine('m', 500, 1)], expecting(['a'], true));
    expect(violations).toEqual(['task a: still TASK_STATE_RUNNING at the end']);
  });

  it('reports a queued task with a live attempt', () => {
    const task = runningTask('a', 'm');
    task.state = TaskState.TASK_STATE_QUEUED;
    const violations = checkInvariants([task], [machine('m', 0, 0, 0)], expecting(['a']));
    expect(violations).toEqual(['task a: TASK_STATE_QUEUED with attempt 1 still TASK_STATE_RUNNING']);
  });
});
