import { execFile } from 'node:child_process';
import os from 'node:os';

import type { Logger } from 'pino';

import type { GpuDevice, MachineCapacity } from '../gen/machinehub/machine/v1/machine.js';
import type { AgentOptions } from './AgentOptions.js';
import { parseNvidiaSmiOutput } from './parseNvidiaSmiOutput.js';

const NVIDIA_SMI_ARGS = ['--query-gpu=index,name,memory.total', '--format=csv,noheader,nounits'];

/** nvidia-smi can hang on a wedged driver, so its run is bounded, ms. */
const NVIDIA_SMI_TIMEOUT_MS = 10_000;

/** Capacity fields of AgentOptions. */
export type CapacityOverrides = Pick<AgentOptions, 'cpuMilli' | 'memoryMib' | 'gpuCount' | 'gpuModel' | 'gpuMemoryMib'>;

/**
 * Detects the host's capacity and applies the declared overrides: CPU from
 * os.availableParallelism(), memory from os.totalmem(), GPUs from
 * nvidia-smi. No nvidia-smi, or a failing one, means no detected GPUs.
 * Throws when an override is not a non-negative integer.
 */
export async function detectCapacity(overrides: CapacityOverrides, logger: Logger): Promise<MachineCapacity> {
  checkCount('cpuMilli', overrides.cpuMilli);
  checkCount('memoryMib', overrides.memoryMib);
  checkCount('gpuCount', overrides.gpuCount);
  checkCount('gpuMemoryMib', overrides.gpuMemoryMib);

  const fullyDeclared = overrides.gpuCount !== undefined && overrides.gpuModel !== undefined && overrides.gpuMemoryMib !== undefined;
  const detected = fullyDeclared || overrides.gpuCount === 0 ? [] : await detectNvidiaGpus(logger);

  return {
    cpuMilli: overrides.cpuMilli ?? os.availableParallelism() * 1000,
    memoryMib: overrides.memoryMib ?? Math.floor(os.totalmem() / (1024 * 1024)),
    gpus: applyGpuOverrides(detected, overrides),
  };
}

/**
 * Applies gpuCount, gpuModel and gpuMemoryMib to the detected devices. With
 * gpuCount the devices are numbered 0 to gpuCount - 1 and take the detected
 * model and memory of the same index where the overrides give none.
 */
export function applyGpuOverrides(detected: GpuDevice[], overrides: CapacityOverrides): GpuDevice[] {
  const base =
    overrides.gpuCount === undefined
      ? detected
      : Array.from({ length: overrides.gpuCount }, (_, index) => detected.find((gpu) => gpu.index === index) ?? { index, model: '', memoryMib: 0 });

  return base.map((gpu) => ({
    index: gpu.index,
    model: overrides.gpuModel ?? gpu.model,
    memoryMib: overrides.gpuMemoryMib ?? gpu.memoryMib,
  }));
}

function detectNvidiaGpus(logger: Logger): Promise<GpuDevice[]> {
  return new Promise((resolve) => {
    execFile('nvidia-smi', NVIDIA_SMI_ARGS, { timeout: NVIDIA_SMI_TIMEOUT_MS }, (error, stdout) => {
      if (error !== null) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          logger.debug('nvidia-smi not found; declaring no detected GPUs');
        } else {
          logger.warn({ err: error }, 'nvidia-smi failed; declaring no detected GPUs');
        }
        resolve([]);
        return;
      }
      try {
        const gpus = parseNvidiaSmiOutput(stdout);
        logger.info({ gpus }, 'detected GPUs');
        resolve(gpus);
      } catch (parseError) {
        logger.warn({ err: parseError }, 'could not parse nvidia-smi output; declaring no detected GPUs');
        resolve([]);
      }
    });
  });
}

function checkCount(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) {
    throw new Error(`invalid ${name} ${value}: must be a whole number, 0 or more`);
  }
}
