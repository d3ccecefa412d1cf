import { readFile } from 'node:fs/promises';
import { buffer } from 'node:stream/consumers';
import type { TaskSpec } from '../gen/machinehub/task/v1/task.js';
import type { OptionValues } from './Command.js';
import { rejectTogether, stringListOption, stringOption } from './optionValues.js';
import { parseConstraint } from './parseConstraint.js';
import { parsePlacementPolicy } from './parseEnums.js';
import { parseKeyValues } from './parseKeyValue.js';
import { parseCores, parseSeconds, parseWholeNumber } from './parseQuantities.js';
import { UsageError } from './UsageError.js';

/** Largest int32, the wire type of priority, GPU counts and attempts. */
const INT32_MAX = 2_147_483_647;

/**
 * Builds the TaskSpec of `tasks submit` from its options and the command
 * after them. Ranges the proto documents for a single field are checked
 * here so that mistakes fail before any request. The server checks them
 * again along with the rules that span fields.
 */
export async function buildTaskSpec(values: OptionValues, positionals: string[]): Promise<TaskSpec> {
  const [command, ...args] = positionals;
  if (command === undefined || command === '') {
    throw new UsageError("missing command; put it after '--', as in: machinehub tasks submit --cpus 1 -- echo hello");
  }
  rejectTogether(values, ['gpus', 'gpu-milli']);

  const cpus = stringOption(values, 'cpus');
  if (cpus === undefined) {
    throw new UsageError('missing --cpus: every task requests CPU, for example --cpus 1 (or 0.5 for 500 millicores)');
  }
  const memory = stringOption(values, 'memory-mib');
  const gpus = stringOption(values, 'gpus');
  const gpuMilli = stringOption(values, 'gpu-milli');
  const gpuMemory = stringOption(values, 'gpu-memory-mib');
  const priority = stringOption(values, 'priority');
  const policy = stringOption(values, 'policy');
  const maxAttempts = stringOption(values, 'max-attempts');
  const timeout = stringOption(values, 'timeout');
  const stdinFile = stringOption(values, 'stdin-file');

  return {
    id: stringOption(values, 'id') ?? '',
    name: stringOption(values, 'name') ?? '',
    resources: {
      cpuMilli: parseCores('cpus', cpus),
      memoryMib: memory === undefined ? 0 : parseWholeNumber('memory-mib', memory, 'MiB'),
      gpuCount: gpus === undefined ? 0 : parseWholeNumber('gpus', gpus, 'whole GPUs (for a share of one GPU use --gpu-milli)', 0, 64),
      gpuMilli: gpuMilli === undefined ? 0 : parseWholeNumber('gpu-milli', gpuMilli, 'thousandths of one GPU', 1, 1000),
      gpuMemoryMib: gpuMemory === undefined ? 0 : parseWholeNumber('gpu-memory-mib', gpuMemory, 'MiB'),
      gpuModels: stringListOption(values, 'gpu-model'),
    },
    priority: priority === undefined ? 0 : parseWholeNumber('priority', priority, 'priority', -INT32_MAX - 1, INT32_MAX),
    command,
    args,
    env: parseKeyValues('env', stringListOption(values, 'env')),
    stdin: stdinFile === undefined ? Buffer.alloc(0) : await readStdinFile(stdinFile),
    constraints: stringListOption(values, 'constraint').map(parseConstraint),
    policy: policy === undefined ? 0 : parsePlacementPolicy('policy', policy),
    retry:
      maxAttempts === undefined
        ? undefined
        : { maxAttempts: parseWholeNumber('max-attempts', maxAttempts, 'attempts', 1, 100), initialBackoff: undefined, maxBackoff: undefined },
    timeout: timeout === undefined ? undefined : parseSeconds('timeout', timeout),
  };
}

/** Reads the bytes for the task's standard input; "-" reads this process's standard input. */
async function readStdinFile(path: string): Promise<Buffer> {
  if (path === '-') {
    return await buffer(process.stdin);
  }
  try {
    return await readFile(path);
  } catch (error) {
    throw new UsageError(`cannot read --stdin-file "${path}": ${(error as Error).message}`);
  }
}
