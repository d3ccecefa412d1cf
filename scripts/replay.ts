/**
 * Replays the OpenB trace against a running server:
 *   npm run replay -- --server 127.0.0.1:50051 [--window-seconds 60] [--duration-scale 0.02]
 *     [--max-duration-seconds 40] [--trace-dir DIR]
 */
import { parseArgs } from 'node:util';
import { replayOpenb } from '../demo/replayOpenb.js';
import { printSummary } from '../demo/printSummary.js';
import { defaultTraceDir } from '../demo/traceDir.js';

const { values } = parseArgs({
  options: {
    server: { type: 'string', default: '127.0.0.1:50051' },
    'window-seconds': { type: 'string', default: '60' },
    'trace-dir': { type: 'string' },
    'duration-scale': { type: 'string', default: '0.02' },
    'max-duration-seconds': { type: 'string', default: '40' },
  },
});
const summary = await replayOpenb({
  address: values.server,
  traceDir: values['trace-dir'] ?? defaultTraceDir(),
  windowSeconds: Number(values['window-seconds']),
  durationScale: Number(values['duration-scale']),
  maxDurationSeconds: Number(values['max-duration-seconds']),
  print: (line, live) => process.stderr.write(live ? `\r${line}\x1b[K` : `${line}\n`),
});
printSummary(summary, (line) => process.stdout.write(`${line}\n`));
