import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { createChannel, createClient } from 'nice-grpc';
import { afterEach, describe, expect, it } from 'vitest';

import { AgentServiceDefinition, AgentState } from '../../gen/machinehub/agent/v1/agent.js';
import { TaskServiceDefinition, TaskSpec, TaskState } from '../../gen/machinehub/task/v1/task.js';
import { startServer } from '../../server/index.js';
import { waitFor } from './waitFor.js';

const fixture = fileURLToPath(new URL('./fixtures/runAgentMain.ts', import.meta.url));

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    await cleanup();
  }
});

/** Starts a server and an agent process connected to it. */
async function startFleet(agentId: string) {
  const server = await startServer({ listen: '127.0.0.1:0', inMemory: true, logLevel: 'silent', heartbeatIntervalMs: 200, cancelGraceMs: 300 });
  cleanups.push(() => server.close());
  const channel = createChannel(server.address);
  cleanups.push(() => channel.close());
  const tasks = createClient(TaskServiceDefinition, channel);
  const agents = createClient(AgentServiceDefinition, channel);

  const options = { server: server.address, agentId, cpuMilli: 2000, memoryMib: 2048, logLevel: 'info', drainDeadlineMs: 20_000, killGraceMs: 300 };
  // Node itself, not the tsx wrapper: a signal then reaches the agent, and SIGKILL leaves no orphan behind.
  const agent: ChildProcess = spawn(process.execPath, ['--import', 'tsx', fixture, JSON.stringify(options)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let logs = '';
  agent.stderr?.on('data', (chunk: Buffer) => {
    logs += chunk.toString('utf8');
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    agent.once('exit', (code, signal) => resolve({ code, signal }));
  });
  cleanups.push(async () => {
    if (agent.exitCode === null && agent.signalCode === null) {
      agent.kill('SIGKILL');
      await exited;
    }
  });

  await waitFor(`agent ${agentId} connected`, async () => {
    const { agents: list } = await agents.listAgents({});
    return list.some((candidate) => candidate.id === agentId && candidate.state === AgentState.AGENT_STATE_CONNECTED);
  }, 30_000);

  return { tasks, agents, agent, exited, logs: () => logs };
}

/** True while the process runs; a zombie (state Z) left after SIGKILL does not count. */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.charAt(stat.lastIndexOf(')') + 2);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

function shellTask(id: string, script: string): TaskSpec {
  return {
    ...TaskSpec.fromJSON({}),
    id,
    command: 'sh',
    args: ['-c', script],
    resources: { cpuMilli: 100, memoryMib: 16, gpuCount: 0, gpuMilli: 0, gpuMemoryMib: 0, gpuModels: [] },
  };
}

describe('agent process', () => {
  it('drains on SIGTERM and exits 0', async () => {
    const { tasks, agents, agent, exited, logs } = await startFleet('sigterm-agent');
    await tasks.submitTasks({ tasks: [shellTask('finishing', 'sleep 1; echo done')] });
    await waitFor('task running', async () => (await tasks.getTask({ id: 'finishing' })).task?.state === TaskState.TASK_STATE_RUNNING);

    agent.kill('SIGTERM');
    const exit = await exited;

    expect(exit).toEqual({ code: 0, signal: null });
    const { task } = await tasks.getTask({ id: 'finishing' });
    expect(TaskState[task?.state ?? 0]).toBe('TASK_STATE_COMPLETED');
    expect(task?.outputTail).toBe('done\n');
    const { agents: list } = await agents.listAgents({});
    expect(list.find((candidate) => candidate.id === 'sigterm-agent')?.state).toBe(AgentState.AGENT_STATE_LEFT);

    const messages = logs()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg: string; agentId?: string; taskId?: string; durationMs?: number });
    expect(messages.some((line) => line.msg === 'registered with the server' && line.agentId === 'sigterm-agent')).toBe(true);
    expect(messages.some((line) => line.msg === 'task ended' && line.taskId === 'finishing' && typeof line.durationMs === 'number')).toBe(true);
    expect(messages.some((line) => line.msg === 'drained')).toBe(true);
  });

  it('SIGINT exits at once', async () => {
    const { tasks, agent, exited } = await startFleet('sigint-agent');
    const pidFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'machinehub-agent-')), 'pid');
    await tasks.submitTasks({ tasks: [shellTask('stubborn', `trap "" TERM INT; sleep 60 & echo $! > ${pidFile}; wait`)] });
    const sleepPid = await waitFor('task pid file', () => {
      const text = existsSync(pidFile) ? readFileSync(pidFile, 'utf8') : '';
      return text.endsWith('\n') ? Number.parseInt(text, 10) : undefined;
    });

    const interruptedAt = Date.now();
    agent.kill('SIGINT');
    const exit = await exited;

    expect(exit.code).toBe(130);
    expect(Date.now() - interruptedAt).toBeLessThan(2_000);
    await waitFor('task process group killed', () => !isRunning(sleepPid), 2_000);
  });
});
