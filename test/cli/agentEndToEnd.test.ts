import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startServer } from '../../server/index.js';
import { BIN_PATH, runMachinehub } from './runMachinehub.js';

let server: Awaited<ReturnType<typeof startServer>>;
let agent: ChildProcess | undefined;
let agentLog = '';

/** Polls `agents list --json` until the agent is connected, for at most `timeoutMs`. */
async function waitForAgent(agentId: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const result = await runMachinehub(server.address, ['agents', 'list', '--json']);
    const agents: { id: string; state: string }[] = JSON.parse(result.stdout).agents ?? [];
    if (agents.some((entry) => entry.id === agentId && entry.state === 'AGENT_STATE_CONNECTED')) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`agent ${agentId} did not connect within ${timeoutMs} ms; its log:\n${agentLog}`);
}

beforeAll(async () => {
  server = await startServer({ listen: '127.0.0.1:0', inMemory: true, logLevel: 'silent' });
  agent = spawn(
    process.execPath,
    // --gpus 0 keeps the declared capacity the same on hosts with GPUs.
    [BIN_PATH, 'agent', '--server', server.address, '--id', 'e2e-a1', '--cpus', '2', '--memory-mib', '1024', '--gpus', '0', '--label', 'zone=a', '--log-level', 'info'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  agent.stdout?.setEncoding('utf8').on('data', (chunk: string) => (agentLog += chunk));
  agent.stderr?.setEncoding('utf8').on('data', (chunk: string) => (agentLog += chunk));
  await waitForAgent('e2e-a1', 20_000);
});

afterAll(async () => {
  if (agent !== undefined && agent.exitCode === null && agent.signalCode === null) {
    agent.kill('SIGKILL');
    await once(agent, 'close');
  }
  await server?.close();
});

describe('CLI with a running agent', () => {
  test('machine lists the agent capacity', async () => {
    const result = await runMachinehub(server.address, ['machines', 'list']);

    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^e2e-a1\s+ready\s+[\d.]+\/2\.0\s+[\d.]+ [MGT]iB\/1 GiB\s+0\/0\s+\d+\s+e2e-a1\s+zone=a$/m);
  });

  test('watch follows task to completion', async () => {
    const submitted = await runMachinehub(server.address, ['tasks', 'submit', '--id', 'e2e-1', '--cpus', '1', '--constraint', 'zone=a', '--', 'sh', '-c', 'echo hello from $MACHINEHUB_TASK_ID']);
    expect(submitted.exitCode).toBe(0);

    const watched = await runMachinehub(server.address, ['tasks', 'watch', 'e2e-1'], 20_000);
    const details = await runMachinehub(server.address, ['tasks', 'get', 'e2e-1']);

    expect(watched.exitCode).toBe(0);
    expect(watched.stdout.trimEnd().split('\n').at(-1)).toMatch(/e2e-1 {2}(\w+ -> )?completed {2}machine e2e-a1 {2}attempt 1$/);
    expect(details.stdout).toMatch(/^Exit code:\s+0$/m);
    expect(details.stdout).toMatch(/^ {2}1\s+e2e-a1\s+-\s+completed\s/m);
    expect(details.stdout).toMatch(/^ {2}hello from e2e-1$/m);
  });

  test('send delivers to the agent', async () => {
    const result = await runMachinehub(server.address, ['send', 'e2e-a1', '--topic', 'greeting', 'hello']);

    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout.trim()).not.toBe('');
    // The CLI agent logs messages it receives; one it dropped would log 'dropped a message'.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(agentLog).not.toContain('dropped a message');
  });

  test('drain makes the agent leave', async () => {
    // Listen before draining, because the agent may exit before the drain command does.
    const agentClosed = once(agent!, 'close');

    const result = await runMachinehub(server.address, ['machines', 'drain', 'e2e-a1', '--deadline', '5']);

    expect(result.exitCode).toBe(0);
    expect(result.stdout.trim()).toBe('e2e-a1  draining');
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`agent still running 30 s after the drain; its log:\n${agentLog}`)), 30_000),
    );
    const [exitCode] = await Promise.race([agentClosed, timeout]);
    expect(exitCode).toBe(0);
  });
});
