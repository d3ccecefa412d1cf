import { MachineStatus } from '../../gen/machinehub/machine/v1/machine.js';
import { ConstraintOperator, PlacementPolicy, TaskState } from '../../gen/machinehub/task/v1/task.js';
import type { MachineRecord, TaskRecord } from '../../server/control/records.js';

/** Returns a task with every field set to a value other than its default. */
export function fullTask(id: string, seq: number): TaskRecord {
  return {
    id,
    spec: {
      id,
      name: 'train shard 3',
      resources: { cpuMilli: 2500, memoryMib: 8192, gpuCount: 0, gpuMilli: 250, gpuMemoryMib: 10240, gpuModels: ['A100', 'H100'] },
      priority: -7,
      command: 'python3',
      args: ['train.py', '--shard', '3', ''],
      env: { B: '2', A: 'ünïcode ✓' },
      stdin: Buffer.from([0, 1, 2, 255, 254, 10, 13]),
      constraints: [{ key: 'zone', operator: ConstraintOperator.CONSTRAINT_OPERATOR_IN, values: ['a', 'b'] }],
      policy: PlacementPolicy.PLACEMENT_POLICY_SPREAD,
      retry: { maxAttempts: 4, initialBackoff: { seconds: 1, nanos: 500_000_000 }, maxBackoff: { seconds: 60, nanos: 0 } },
      timeout: { seconds: 3600, nanos: 1_000_000 },
    },
    state: TaskState.TASK_STATE_RUNNING,
    reason: 'running on m-1',
    attempt: 2,
    machineId: 'm-1',
    gpuIndices: [1],
    attempts: [
      {
        number: 1,
        machineId: 'm-0',
        gpuIndices: [0],
        state: TaskState.TASK_STATE_FAILED,
        assignedTime: new Date('2026-01-02T03:04:05.006Z'),
        startedTime: new Date('2026-01-02T03:04:06.007Z'),
        finishedTime: new Date('2026-01-02T03:05:00.999Z'),
        exitCode: 137,
        error: 'killed by SIGKILL',
      },
      {
        number: 2,
        machineId: 'm-1',
        gpuIndices: [1],
        state: TaskState.TASK_STATE_RUNNING,
        assignedTime: new Date('2026-01-02T03:06:00.001Z'),
        startedTime: undefined,
        finishedTime: undefined,
        exitCode: -1,
        error: '',
      },
    ],
    createTime: new Date('2026-01-02T03:04:00.123Z'),
    startTime: new Date('2026-01-02T03:06:01.002Z'),
    finishTime: undefined,
    exitCode: -1,
    error: 'killed by SIGKILL',
    outputTail: 'line 1\nline 2 ✓\n',
    cancelRequested: true,
    seq,
    gpuMilli: 250,
    retryAtMs: 1_767_323_163_000,
  };
}

/** Returns a machine with every field set to a value other than its default. */
export function fullMachine(id: string): MachineRecord {
  return {
    id,
    capacity: { cpuMilli: 64_000, memoryMib: 515_072, gpus: [{ index: 0, model: 'A100', memoryMib: 40_960 }, { index: 1, model: 'A100', memoryMib: 40_960 }] },
    labels: { zone: 'a', pool: 'train' },
    declared: true,
    status: MachineStatus.MACHINE_STATUS_DISCONNECTED,
    statusReason: 'stream ended: cancelled',
    drainDeadlineSeconds: 120,
    agentId: 'agent-7',
    lastHeartbeatTime: new Date('2026-01-02T03:04:05.678Z'),
  };
}
