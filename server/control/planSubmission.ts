import { TaskSpec } from '../../gen/machinehub/task/v1/task.js';
import { validateDemand } from '../scheduler/index.js';
import { alreadyExists, invalidArgument, resourceExhausted } from '../errors.js';
import { toDemand } from './demand.js';
import type { TaskRecord } from './records.js';
import { validateTaskSpec } from './validateTaskSpec.js';

/**
 * Bytes a Task adds around its spec in the response (id, state, times). An
 * estimate with room to spare: the fields are small and bounded.
 */
const TASK_ENVELOPE_BYTES = 256;

/** Maximum tasks in one SubmitTasks call. */
export const MAX_BATCH = 10_000;

/**
 * Checks a SubmitTasks batch before anything changes, so the batch is
 * accepted whole or not at all. Returns, per spec in order, the existing
 * record when a client retries a submission with the same id and spec, or
 * the spec to create. Throws the first problem as an ApiError.
 */
export function planSubmission(
  specs: TaskSpec[],
  tasks: ReadonlyMap<string, TaskRecord>,
  maxMessageBytes: number,
): (TaskRecord | TaskSpec)[] {
  if (specs.length === 0 || specs.length > MAX_BATCH) {
    throw invalidArgument(`tasks: ${specs.length} tasks in the request, expected 1 to ${MAX_BATCH}`);
  }
  const plan: (TaskRecord | TaskSpec)[] = [];
  const idsInBatch = new Set<string>();
  let responseBytes = 0;
  for (const [index, spec] of specs.entries()) {
    const error = validateTaskSpec(spec, index, maxMessageBytes);
    if (error) throw error;
    responseBytes += TaskSpec.encode(spec).finish().length + TASK_ENVELOPE_BYTES;
    if (responseBytes > maxMessageBytes) {
      throw resourceExhausted(
        `tasks: the response to ${specs.length} tasks would exceed the ${maxMessageBytes}-byte message limit ` +
          `by task ${index}; submit fewer or smaller tasks per call`,
      );
    }
    const demandError = validateDemand(toDemand(spec.id || 'new', spec));
    if (demandError) throw invalidArgument(`tasks[${index}].resources: ${demandError}`);
    if (spec.id === '') {
      plan.push(spec);
      continue;
    }
    if (idsInBatch.has(spec.id)) throw invalidArgument(`tasks[${index}].id: "${spec.id}" appears twice in the request`);
    idsInBatch.add(spec.id);
    const existing = tasks.get(spec.id);
    if (!existing) plan.push(spec);
    else if (sameSpec(existing.spec, spec)) plan.push(existing);
    else throw alreadyExists(`tasks[${index}].id: "${spec.id}" exists with a different spec`);
  }
  return plan;
}

/** Compares specs by their encoding with env sorted, so a retry with the same spec matches. */
function sameSpec(a: TaskSpec, b: TaskSpec): boolean {
  const canonical = (spec: TaskSpec) =>
    TaskSpec.encode({ ...spec, env: Object.fromEntries(Object.entries(spec.env).sort(([x], [y]) => x.localeCompare(y))) }).finish();
  return Buffer.compare(canonical(a), canonical(b)) === 0;
}
