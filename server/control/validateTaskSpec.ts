import { TaskSpec, ConstraintOperator, PlacementPolicy } from '../../gen/machinehub/task/v1/task.js';
import { invalidArgument, resourceExhausted, type ApiError } from '../errors.js';
import { ID_PATTERN } from './ids.js';

/** Most whole GPUs one task may request; no machine sold today has more. */
export const MAX_GPU_COUNT = 64;
export const MAX_ATTEMPTS = 100;
export const MAX_COMMAND_CHARS = 4096;
export const MAX_NAME_CHARS = 256;
export const MAX_LABEL_CHARS = 128;
/** Maximum run timeout: agents time attempts with Node timers, which hold at most 2^31-1 ms. */
export const MAX_TIMEOUT_SECONDS = 2_147_483;

/**
 * Bytes kept free in every message for the AssignTask envelope around a spec
 * (task id, attempt, GPU indexes, timestamp). A spec larger than the message
 * limit minus this could be accepted from a client and then not fit the
 * agent's receive limit, so such a spec is rejected at submission.
 */
export const ASSIGNMENT_ENVELOPE_BYTES = 64 * 1024;

/**
 * Checks one spec of a SubmitTasks batch. Returns the first problem as an
 * ApiError whose message names the field (with the batch index), the value
 * and the limit, or undefined when the spec is valid.
 */
export function validateTaskSpec(spec: TaskSpec, index: number, maxMessageBytes: number): ApiError | undefined {
  const at = `tasks[${index}]`;
  const bad = (field: string, message: string) => invalidArgument(`${at}.${field}: ${message}`);

  if (spec.id !== '' && !ID_PATTERN.test(spec.id)) {
    return bad('id', `"${clip(spec.id)}" is invalid: use 1 to 128 characters of A-Z a-z 0-9 . _ : -`);
  }
  if (spec.name.length > MAX_NAME_CHARS) {
    return bad('name', `is ${spec.name.length} characters, limit is ${MAX_NAME_CHARS}`);
  }
  if (spec.command.trim() === '') return bad('command', 'is missing: set the executable to run');
  if (spec.command.length > MAX_COMMAND_CHARS) {
    return bad('command', `is ${spec.command.length} characters, limit is ${MAX_COMMAND_CHARS}`);
  }
  for (const key of Object.keys(spec.env)) {
    if (key === '' || key.includes('=') || key.includes('\0')) {
      return bad('env', `key "${clip(key)}" is invalid: it must be non-empty and contain no "=" or NUL`);
    }
  }

  const resourceError = validateResources(spec, at);
  if (resourceError) return resourceError;

  for (const [i, constraint] of spec.constraints.entries()) {
    const field = `constraints[${i}]`;
    if (constraint.key === '' || constraint.key.length > MAX_LABEL_CHARS) {
      return bad(`${field}.key`, `"${clip(constraint.key)}" is invalid: use 1 to ${MAX_LABEL_CHARS} characters`);
    }
    const count = constraint.values.length;
    switch (constraint.operator) {
      case ConstraintOperator.CONSTRAINT_OPERATOR_EQUALS:
        if (count !== 1) return bad(`${field}.values`, `EQUALS takes exactly 1 value, got ${count}`);
        break;
      case ConstraintOperator.CONSTRAINT_OPERATOR_IN:
      case ConstraintOperator.CONSTRAINT_OPERATOR_NOT_IN:
        if (count === 0) return bad(`${field}.values`, 'IN and NOT_IN take at least 1 value, got 0');
        break;
      case ConstraintOperator.CONSTRAINT_OPERATOR_EXISTS:
      case ConstraintOperator.CONSTRAINT_OPERATOR_NOT_EXISTS:
        if (count !== 0) return bad(`${field}.values`, `EXISTS and NOT_EXISTS take no values, got ${count}`);
        break;
      default:
        return bad(`${field}.operator`, `${constraint.operator} is not a known operator`);
    }
  }

  if (!(spec.policy in PlacementPolicy) || spec.policy === PlacementPolicy.UNRECOGNIZED) {
    return bad('policy', `${spec.policy} is not a known placement policy`);
  }
  const maxAttempts = spec.retry?.maxAttempts ?? 0;
  if (maxAttempts < 0 || maxAttempts > MAX_ATTEMPTS) {
    return bad('retry.max_attempts', `${maxAttempts} is out of range 0 to ${MAX_ATTEMPTS}`);
  }
  for (const [field, duration] of [
    ['retry.initial_backoff', spec.retry?.initialBackoff],
    ['retry.max_backoff', spec.retry?.maxBackoff],
    ['timeout', spec.timeout],
  ] as const) {
    if (duration && (duration.seconds < 0 || duration.nanos < 0)) {
      return bad(field, `${duration.seconds}s is negative`);
    }
    if (duration && duration.nanos > 999_999_999) {
      return bad(field, `nanos ${duration.nanos} is out of range 0 to 999999999`);
    }
  }

  if (spec.timeout && spec.timeout.seconds > MAX_TIMEOUT_SECONDS) {
    return bad('timeout', `${spec.timeout.seconds}s is out of range 0 to ${MAX_TIMEOUT_SECONDS}s (about 24.8 days)`);
  }

  const specBytes = TaskSpec.encode(spec).finish().length;
  const specLimit = maxMessageBytes - ASSIGNMENT_ENVELOPE_BYTES;
  if (specBytes > specLimit) {
    return resourceExhausted(
      `${at}: spec is ${specBytes} bytes, limit is ${specLimit} bytes ` +
        `(message limit ${maxMessageBytes} minus ${ASSIGNMENT_ENVELOPE_BYTES} for the assignment)`,
    );
  }
  return undefined;
}

function validateResources(spec: TaskSpec, at: string): ApiError | undefined {
  const resources = spec.resources;
  if (!resources) return invalidArgument(`${at}.resources: missing: set at least cpu_milli`);
  const field = (name: string, message: string) => invalidArgument(`${at}.resources.${name}: ${message}`);
  const whole = (name: string, value: number, min: number, max: number) =>
    Number.isSafeInteger(value) && value >= min && value <= max
      ? undefined
      : field(name, `${value} is out of range ${min} to ${max}`);

  return (
    whole('cpu_milli', resources.cpuMilli, 1, Number.MAX_SAFE_INTEGER) ??
    whole('memory_mib', resources.memoryMib, 0, Number.MAX_SAFE_INTEGER) ??
    whole('gpu_count', resources.gpuCount, 0, MAX_GPU_COUNT) ??
    whole('gpu_milli', resources.gpuMilli, 0, 1000) ??
    whole('gpu_memory_mib', resources.gpuMemoryMib, 0, Number.MAX_SAFE_INTEGER) ??
    (resources.gpuCount > 0 && resources.gpuMilli > 0
      ? field('gpu_milli', `${resources.gpuMilli} set together with gpu_count ${resources.gpuCount}: set one of them`)
      : undefined) ??
    (resources.gpuCount === 0 && resources.gpuMilli === 0 && resources.gpuMemoryMib > 0
      ? field('gpu_memory_mib', `${resources.gpuMemoryMib} set without gpu_count or gpu_milli`)
      : undefined) ??
    (resources.gpuCount === 0 && resources.gpuMilli === 0 && resources.gpuModels.length > 0
      ? field('gpu_models', 'set without gpu_count or gpu_milli')
      : undefined)
  );
}

/** Shortens a client value for an error message, so a huge value cannot bloat logs. */
export function clip(value: string, max = 64): string {
  return value.length <= max ? value : `${value.slice(0, max)}...`;
}
