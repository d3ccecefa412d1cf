import type { Task } from '../../gen/machinehub/task/v1/task.js';
import type { Machine } from '../../gen/machinehub/machine/v1/machine.js';
import type { ControlPlane } from '../control/ControlPlane.js';
import type { MachineRecord, TaskRecord } from '../control/records.js';

/** Converts a record to the wire Task, with its queue reason filled in. */
export function toWireTask(plane: ControlPlane, task: TaskRecord): Task {
  return { ...task, reason: plane.reasonOf(task) };
}

/** Converts a record to the wire Machine, with its live allocation from the scheduler. */
export function toWireMachine(plane: ControlPlane, machine: MachineRecord): Machine {
  const allocation = plane.fleet.allocationOf(machine.id);
  return {
    id: machine.id,
    capacity: machine.capacity,
    allocated: {
      cpuMilli: allocation?.cpuMilli ?? 0,
      memoryMib: allocation?.memoryMib ?? 0,
      gpus: machine.capacity.gpus.map((gpu) => ({
        index: gpu.index,
        milli: allocation?.gpuMilli[gpu.index] ?? 0,
        memoryMib: allocation?.gpuMemoryMib[gpu.index] ?? 0,
      })),
    },
    labels: machine.labels,
    status: machine.status,
    agentId: machine.agentId,
    lastHeartbeatTime: machine.lastHeartbeatTime,
    taskCount: plane.fleet.activeOn(machine.id).size,
    statusReason: machine.statusReason,
  };
}

/** Page size with the documented default (0 means 1000) and bounds. */
export function pageSize(requested: number): number {
  if (requested <= 0) return 1000;
  return Math.min(requested, 10_000);
}
