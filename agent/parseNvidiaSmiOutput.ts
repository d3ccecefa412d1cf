import type { GpuDevice } from '../gen/machinehub/machine/v1/machine.js';

/**
 * Parses the output of
 * `nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader,nounits`:
 * one line per device, `index, name, memory in MiB`, for example
 * `0, NVIDIA A100-SXM4-80GB, 81920`.
 *
 * Blank lines are skipped. A memory field that is not a whole number (nvidia-smi
 * prints `[N/A]` on some devices) becomes 0, which the server treats as unknown.
 * Throws when a line has fewer than three fields or an invalid index, because
 * a device list with a hole in it would give tasks the wrong devices.
 */
export function parseNvidiaSmiOutput(output: string): GpuDevice[] {
  const devices: GpuDevice[] = [];

  for (const rawLine of output.split('\n')) {
    const line = rawLine.trim();
    if (line === '') {
      continue;
    }

    // The model name may itself contain commas, so the index is before the
    // first comma, the memory after the last, and the name is all between.
    const firstComma = line.indexOf(',');
    const lastComma = line.lastIndexOf(',');
    if (firstComma === lastComma) {
      throw new Error(`invalid nvidia-smi line ${JSON.stringify(line)}: expected "index, name, memory.total"`);
    }

    const indexField = line.slice(0, firstComma).trim();
    if (!/^\d+$/.test(indexField)) {
      throw new Error(`invalid GPU index ${JSON.stringify(indexField)} in nvidia-smi line ${JSON.stringify(line)}`);
    }

    const memoryField = line.slice(lastComma + 1).trim();
    const memoryMib = /^\d+$/.test(memoryField) ? Number(memoryField) : 0;

    devices.push({
      index: Number(indexField),
      model: line.slice(firstComma + 1, lastComma).trim(),
      memoryMib,
    });
  }

  return devices;
}
