import type { ReplaySummary } from './replayOpenb.js';

/** Prints the replay summary as aligned "name  value" lines. */
export function printSummary(summary: ReplaySummary, print: (line: string) => void): void {
  const rows: [string, string][] = [
    ['fleet', `${summary.machines} machines, ${summary.gpus} GPUs`],
    ['tasks submitted', String(summary.submitted)],
    ['tasks placed', String(summary.placed)],
    ['tasks finished', String(summary.finished)],
    ['tasks queued at the end', String(summary.queued)],
    ['peak GPU allocation', `${summary.peakGpuAllocationPercent.toFixed(1)}%`],
    ['peak CPU allocation', `${summary.peakCpuAllocationPercent.toFixed(1)}%`],
    ['placements per second', `${summary.placementsPerSecond.toFixed(0)} average, ${summary.peakPlacementsPerSecond} peak`],
    ['submit-to-running p50', `${summary.latencyP50Ms.toFixed(1)} ms`],
    ['submit-to-running p99', `${summary.latencyP99Ms.toFixed(1)} ms`],
    ['allocation left at end', `${summary.leftoverCpuMilli}m CPU, ${summary.leftoverGpuMilli} GPU milli`],
    ['replay time', `${summary.seconds.toFixed(1)} s`],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  for (const [name, value] of rows) print(`${name.padEnd(width)}  ${value}`);
  for (const reason of summary.queuedReasons) print(`  queued because: ${reason}`);
}
