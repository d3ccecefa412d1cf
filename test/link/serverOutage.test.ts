import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AgentState } from '../../gen/machinehub/agent/v1/agent.js';
import { TaskState } from '../../gen/machinehub/task/v1/task.js';
import { createMachinehubClient } from '../../client/index.js';
import { startServer, type RunningServer } from '../../server/index.js';
import { freePort } from '../store/freePort.js';
import { FAST_LEASES, inState, onCleanup, spawnAgent, taskSpec, waitFor, waitForTask } from '../support/cluster.js';

const AGENTS = 20;
const OUTAGE_MS = 45_000;
/** The agent's default reconnect backoff cap. */
const MAX_BACKOFF_MS = 30_000;

describe('server outage', () => {
  it('agents return after 45 seconds down', { timeout: 180_000 }, async () => {
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), 'machinehub-outage-'));
    const options = {
      listen: `127.0.0.1:${port}`,
      dataDir,
      logLevel: 'silent',
      ...FAST_LEASES,
      // Agents may take up to their backoff cap to return; none is lost before that.
      startupGraceMs: MAX_BACKOFF_MS + 20_000,
    };
    let server: RunningServer = await startServer(options);
    onCleanup(() => server.close());
    const client = createMachinehubClient(server.address);
    onCleanup(() => client.close());

    const ids = Array.from({ length: AGENTS }, (_, i) => `agent-${i}`);
    for (const id of ids) spawnAgent(server.address, id, ['--cpus', '2', '--memory-mib', '1024']);
    await waitFor('20 agents connected', async () => {
      const { agents } = await client.agents.listAgents({});
      return agents.filter((agent) => agent.state === AgentState.AGENT_STATE_CONNECTED).length === AGENTS;
    }, 60_000);
    const taskIds = ids.map((id) => `work-on-${id}`);
    await client.tasks.submitTasks({
      tasks: taskIds.map((id) => taskSpec({ id, command: 'sleep', args: ['300'], resources: { cpuMilli: 2000, memoryMib: 512 } })),
    });
    const before = new Map<string, string>();
    for (const id of taskIds) before.set(id, (await waitForTask(client, id, inState(TaskState.TASK_STATE_RUNNING), 'running')).machineId);

    await server.close();
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    const restartedAt = Date.now();
    server = await startServer(options);

    const agents = await waitFor('every agent back', async () => {
      const { agents } = await client.agents.listAgents({});
      const connected = agents.filter((agent) => agent.state === AgentState.AGENT_STATE_CONNECTED);
      return connected.length === AGENTS ? connected : undefined;
    }, MAX_BACKOFF_MS + 10_000);
    const reconnectMs = agents.map((agent) => (agent.connectTime?.getTime() ?? 0) - restartedAt);
    expect(Math.max(...reconnectMs)).toBeLessThanOrEqual(MAX_BACKOFF_MS + 2_000);
    // Jitter: the reconnects spread out instead of arriving together.
    expect(Math.max(...reconnectMs) - Math.min(...reconnectMs)).toBeGreaterThan(500);

    for (const id of taskIds) {
      const { task } = await client.tasks.getTask({ id });
      expect(task?.state).toBe(TaskState.TASK_STATE_RUNNING);
      expect(task?.attempt).toBe(1);
      expect(task?.machineId).toBe(before.get(id));
    }
    // The adopted attempts are live: their agents act on a cancel and report back.
    for (const id of taskIds) await client.tasks.cancelTask({ id });
    for (const id of taskIds) await waitForTask(client, id, inState(TaskState.TASK_STATE_CANCELLED), 'cancelled');
  });
});
