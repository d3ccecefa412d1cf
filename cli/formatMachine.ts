import { formatCores, formatGpuShare, formatMemory } from '../client/index.js';
import type { Machine } from '../gen/machinehub/machine/v1/machine.js';
import { formatMachineStatus, formatTime } from './formatNames.js';
import { formatTable } from './formatTable.js';

/** Column headers of formatMachineRow. Resource columns show allocated/capacity. */
export const MACHINE_TABLE_HEADERS = ['ID', 'STATUS', 'CPU', 'MEMORY', 'GPU', 'TASKS', 'AGENT', 'LABELS'];

/** Returns the cells of one machine in `machines list`. */
export function formatMachineRow(machine: Machine): string[] {
  return [
    machine.id,
    formatMachineStatus(machine.status),
    `${formatCores(machine.allocated?.cpuMilli ?? 0)}/${formatCores(machine.capacity?.cpuMilli ?? 0)}`,
    `${formatMemory(machine.allocated?.memoryMib ?? 0)}/${formatMemory(machine.capacity?.memoryMib ?? 0)}`,
    `${formatGpuShare(allocatedGpuMilli(machine))}/${machine.capacity?.gpus.length ?? 0}`,
    String(machine.taskCount),
    machine.agentId || '-',
    formatLabels(machine.labels),
  ];
}

/** Returns the multi-line view of one machine for `machines get`, one row per GPU device. */
export function formatMachineDetails(machine: Machine): string {
  const fields: [string, string][] = [
    ['ID', machine.id],
    ['Status', formatMachineStatus(machine.status)],
    ['Reason', machine.statusReason || '-'],
    ['Agent', machine.agentId || '-'],
    ['Last heartbeat', formatTime(machine.lastHeartbeatTime)],
    ['Tasks', String(machine.taskCount)],
    ['CPU', `${formatCores(machine.allocated?.cpuMilli ?? 0)} of ${formatCores(machine.capacity?.cpuMilli ?? 0)} allocated`],
    ['Memory', `${formatMemory(machine.allocated?.memoryMib ?? 0)} of ${formatMemory(machine.capacity?.memoryMib ?? 0)} allocated`],
    ['Labels', formatLabels(machine.labels)],
  ];
  const width = Math.max(...fields.map(([label]) => label.length)) + 1;
  const lines = fields.map(([label, value]) => `${`${label}:`.padEnd(width)}  ${value}`);

  const devices = machine.capacity?.gpus ?? [];
  lines.push('', 'GPUs:');
  if (devices.length === 0) {
    lines.push('  none');
  } else {
    const rows = devices.map((device) => {
      const allocation = machine.allocated?.gpus.find((gpu) => gpu.index === device.index);
      return [
        String(device.index),
        device.model || '-',
        device.memoryMib === 0 ? '-' : formatMemory(device.memoryMib),
        formatGpuShare(allocation?.milli ?? 0),
        formatMemory(allocation?.memoryMib ?? 0),
      ];
    });
    const table = formatTable(['INDEX', 'MODEL', 'MEMORY', 'ALLOCATED', 'ALLOCATED MEMORY'], rows);
    lines.push(...table.split('\n').map((line) => `  ${line}`));
  }
  return lines.join('\n');
}

function allocatedGpuMilli(machine: Machine): number {
  return (machine.allocated?.gpus ?? []).reduce((sum, gpu) => sum + gpu.milli, 0);
}

function formatLabels(labels: Record<string, string>): string {
  return Object.entries(labels).map(([key, value]) => `${key}=${value}`).join(',') || '-';
}
