/**
 * The main job: `npm run demo`. Starts a server on the embedded SQLite store,
 * runs the design sketch on two real agent processes, then replays the OpenB
 * trace through one simulated agent per trace machine.
 *
 *   npm run demo -- [--data-dir DIR] [--window-seconds 60] [--skip-replay]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startServer } from '../server/index.js';
import { createMachinehubClient } from '../client/index.js';
import { replayOpenb } from './replayOpenb.js';
import { printSummary } from './printSummary.js';
import { defaultTraceDir } from './traceDir.js';
import { runSketchTasks, startSketchAgents, stopAgents } from './runDesignSketch.js';

const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    'window-seconds': { type: 'string', default: '60' },
    'skip-replay': { type: 'boolean', default: false },
  },
});
const out = (line: string) => process.stdout.write(`${line}\n`);
const dataDir = values['data-dir'] ?? mkdtempSync(join(tmpdir(), 'machinehub-demo-'));
const logFile = join(dataDir, 'server.log');

const server = await startServer({ listen: '127.0.0.1:0', dataDir, logDestination: logFile });
out(`server listening on ${server.address}; state in ${dataDir}, log in ${logFile}`);
const client = createMachinehubClient(server.address);
let exitCode = 0;
let agents: Awaited<ReturnType<typeof startSketchAgents>> | undefined;
try {
  out('\n== design sketch: two agent processes, two tasks ==');
  agents = await startSketchAgents(client, server.address, dataDir);
  out('agents cpu_1 and gpu_1 are READY');
  const tasks = await runSketchTasks(client);
  for (const task of tasks) {
    const gpus = task.gpuIndices.length > 0 ? `GPU ${task.gpuIndices.join(',')}` : 'no GPU';
    out(`${task.id}  priority ${task.spec?.priority}  on ${task.machineId}  ${gpus}  exit ${task.exitCode}  output: ${task.outputTail.trim()}`);
  }
  out('task_2 landed on gpu_1, the only machine with a free 12 GiB GPU');
  await stopAgents(agents);
  agents = undefined;

  if (!values['skip-replay']) {
    out('\n== OpenB trace replay: 1523 machines, 8152 tasks ==');
    const summary = await replayOpenb({
      address: server.address,
      traceDir: defaultTraceDir(),
      windowSeconds: Number(values['window-seconds']),
      print: (line, live) => process.stderr.write(live ? `\r${line}\x1b[K` : `${line}\n`),
    });
    printSummary(summary, out);
    if (summary.leftoverCpuMilli !== 0 || summary.leftoverGpuMilli !== 0) {
      out('error: resources still allocated after every task ended');
      exitCode = 1;
    }
  }
} catch (error) {
  process.stderr.write(`\ndemo failed: ${(error as Error).message}\n`);
  exitCode = 1;
} finally {
  if (agents) await stopAgents(agents);
  client.close();
  await server.close();
}
process.exit(exitCode);
