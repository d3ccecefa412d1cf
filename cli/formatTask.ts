import { formatCores, formatGpuShare, formatMemory } from '../client/index.js';
import { TaskState, type ResourceRequest, type Task } from '../gen/machinehub/task/v1/task.js';
import { formatConstraint, formatPolicy, formatTaskState, formatTime } from './formatNames.js';
import { formatTable } from './formatTable.js';

/** Column headers of formatTaskRow. */
export const TASK_TABLE_HEADERS = ['ID', 'NAME', 'STATE', 'CPU', 'MEMORY', 'GPU', 'PRIORITY', 'MACHINE', 'ATTEMPT', 'REASON'];

/** Returns the cells of one task in `tasks list`. */
export function formatTaskRow(task: Task): string[] {
  const resources = task.spec?.resources;
  return [
    task.id,
    task.spec?.name || '-',
    formatTaskStateWithCancel(task),
    formatCores(resources?.cpuMilli ?? 0),
    formatMemory(resources?.memoryMib ?? 0),
    formatGpuRequest(resources),
    String(task.spec?.priority ?? 0),
    task.machineId || '-',
    String(task.attempt),
    formatTaskReason(task),
  ];
}

/**
 * Returns why the task is in its state. The error of an earlier failed
 * attempt is shown only once the task has failed, because a retried task
 * that runs again is no longer in error.
 */
export function formatTaskReason(task: Task): string {
  if (task.state === TaskState.TASK_STATE_FAILED) {
    return task.reason || task.error;
  }
  return task.reason;
}

/** Returns the state, with "(cancelling)" while a cancel awaits the agent's confirmation. */
export function formatTaskStateWithCancel(task: Task): string {
  const state = formatTaskState(task.state);
  const final =
    task.state === TaskState.TASK_STATE_COMPLETED ||
    task.state === TaskState.TASK_STATE_FAILED ||
    task.state === TaskState.TASK_STATE_CANCELLED;
  return task.cancelRequested && !final ? `${state} (cancelling)` : state;
}

/** Returns the GPU request as whole devices ("2"), a share ("0.46") or "0". */
export function formatGpuRequest(resources: ResourceRequest | undefined): string {
  if (resources === undefined) {
    return '0';
  }
  if (resources.gpuCount > 0) {
    return String(resources.gpuCount);
  }
  return formatGpuShare(resources.gpuMilli);
}

/** Returns the multi-line view of one task for `tasks get`, attempts history included. */
export function formatTaskDetails(task: Task): string {
  const spec = task.spec;
  const resources = spec?.resources;
  // 3 is the server's default when the spec leaves max_attempts at 0.
  const maxAttempts = spec?.retry?.maxAttempts || 3;
  const lastAttempt = task.attempts.at(-1);
  const fields: [string, string][] = [
    ['ID', task.id],
    ['Name', spec?.name || '-'],
    ['State', formatTaskStateWithCancel(task)],
    ['Reason', task.reason || '-'],
    ['Command', [spec?.command ?? '', ...(spec?.args ?? [])].map(quoteArgument).join(' ')],
    ['Resources', formatResourceRequest(resources)],
    ['Priority', String(spec?.priority ?? 0)],
    ['Policy', formatPolicy(spec?.policy ?? 0)],
    ['Constraints', spec?.constraints.map(formatConstraint).join(', ') || '-'],
    ['Env', Object.entries(spec?.env ?? {}).map(([key, value]) => `${key}=${value}`).join(' ') || '-'],
    ['Machine', task.machineId === '' ? '-' : formatMachineWithGpus(task.machineId, task.gpuIndices)],
    ['Attempt', `${task.attempt} of ${maxAttempts}`],
    ['Created', formatTime(task.createTime)],
    ['Started', formatTime(task.startTime)],
    ['Finished', formatTime(task.finishTime)],
    ['Exit code', lastAttempt?.finishedTime === undefined ? '-' : String(task.exitCode)],
    ['Error', task.error || '-'],
  ];
  const width = Math.max(...fields.map(([label]) => label.length)) + 1;
  const lines = fields.map(([label, value]) => `${`${label}:`.padEnd(width)}  ${value}`);

  lines.push('', 'Attempts:');
  if (task.attempts.length === 0) {
    lines.push('  none yet');
  } else {
    const rows = task.attempts.map((attempt) => [
      String(attempt.number),
      attempt.machineId || '-',
      attempt.gpuIndices.join(',') || '-',
      formatTaskState(attempt.state),
      formatTime(attempt.assignedTime),
      formatTime(attempt.startedTime),
      formatTime(attempt.finishedTime),
      attempt.finishedTime === undefined ? '-' : String(attempt.exitCode),
      attempt.error,
    ]);
    const table = formatTable(['#', 'MACHINE', 'GPUS', 'STATE', 'ASSIGNED', 'STARTED', 'FINISHED', 'EXIT', 'ERROR'], rows);
    lines.push(...table.split('\n').map((line) => `  ${line}`));
  }

  if (task.outputTail !== '') {
    lines.push('', 'Output (last 4 KiB):', ...task.outputTail.replace(/\n$/, '').split('\n').map((line) => `  ${line}`));
  }
  return lines.join('\n');
}

function formatResourceRequest(resources: ResourceRequest | undefined): string {
  if (resources === undefined) {
    return '-';
  }
  const parts = [`${formatCores(resources.cpuMilli)} CPU`, formatMemory(resources.memoryMib)];
  if (resources.gpuCount > 0 || resources.gpuMilli > 0) {
    const models = resources.gpuModels.length > 0 ? ` (${resources.gpuModels.join(' or ')})` : '';
    parts.push(`${formatGpuRequest(resources)} GPU${models}`);
  }
  if (resources.gpuMemoryMib > 0) {
    parts.push(`${formatMemory(resources.gpuMemoryMib)} GPU memory per device`);
  }
  return parts.join(', ');
}

function formatMachineWithGpus(machineId: string, gpuIndices: number[]): string {
  return gpuIndices.length === 0 ? machineId : `${machineId} (GPUs ${gpuIndices.join(',')})`;
}

/** Quotes an argument for display when a shell would split or expand it. */
function quoteArgument(argument: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(argument)) {
    return argument;
  }
  return `'${argument.replace(/'/g, `'\\''`)}'`;
}
