import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MachineStatus } from '../../gen/machinehub/machine/v1/machine.js';
import { MAX_QUEUED_MESSAGES } from '../../server/grpc/AgentSession.js';
import { onCleanup, spawnAgent, startTestServer, waitForMachine } from '../support/cluster.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const MESSAGES = 100_000;

/** Starts a fixture process; resolves its stdout lines as they come. */
function runFixture(name: string, args: string[]) {
  // Node itself, not the tsx wrapper, so that SIGKILL at cleanup leaves no orphan process.
  const child = spawn(process.execPath, ['--import', 'tsx', fixture(name), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    const parts = stdout.split('\n');
    stdout = parts.pop() ?? '';
    lines.push(...parts);
    for (const waiter of waiters.splice(0)) waiter();
  });
  onCleanup(() => void child.kill('SIGKILL'));
  const nextLine = async (): Promise<string> => {
    while (lines.length === 0) {
      if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
    return lines.shift() as string;
  };
  return { child, nextLine };
}

describe('flooding sender', () => {
  it('bounded queue, ordered, heartbeats on time', { timeout: 180_000 }, async () => {
    const { server, client } = await startTestServer({ logLevel: 'warn' });
    spawnAgent(server.address, 'healthy', ['--cpus', '1', '--memory-mib', '512']);
    await waitForMachine(client, 'healthy');
    const receiver = runFixture('slowReceiver.ts', [server.address, String(MESSAGES), '100']);
    expect(await receiver.nextLine()).toBe('ready');

    const heapBefore = process.memoryUsage().heapUsed;
    let maxDepth = 0;
    let maxHeapGrowth = 0;
    let healthyMisses = 0;
    const sampler = setInterval(async () => {
      maxDepth = Math.max(maxDepth, server.hub.queueDepth('receiver'));
      maxHeapGrowth = Math.max(maxHeapGrowth, process.memoryUsage().heapUsed - heapBefore);
      const { machine } = await client.machines.getMachine({ id: 'healthy' });
      if (machine?.status !== MachineStatus.MACHINE_STATUS_READY) healthyMisses += 1;
    }, 100);
    onCleanup(() => clearInterval(sampler));

    const sender = runFixture('floodSender.ts', [server.address, 'receiver', String(MESSAGES), '2000']);
    const sent = JSON.parse(await sender.nextLine());
    const got = JSON.parse(await receiver.nextLine());
    clearInterval(sampler);

    expect(sent.delivered).toBe(MESSAGES);
    expect(sent.failed).toBe(0);
    expect(got.received).toBe(MESSAGES);
    expect(got.outOfOrder).toBe(0);
    // The receiver's queue filled up, so the bound was reached and held.
    expect(maxDepth).toBeGreaterThan(MAX_QUEUED_MESSAGES / 2);
    expect(maxDepth).toBeLessThanOrEqual(MAX_QUEUED_MESSAGES);
    // 100,000 messages of 1 KiB are about 100 MiB; the server may hold only a bounded part of it.
    expect(maxHeapGrowth).toBeLessThan(64 * 1024 * 1024);
    expect(healthyMisses).toBe(0);
  });
});
