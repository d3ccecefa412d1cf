import { createChannel, createClient, createServer, ServerError, Status, type CallContext } from 'nice-grpc';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';

import { AgentServiceDefinition, type ConnectRequest, type ConnectResponse } from '../../gen/machinehub/agent/v1/agent.js';
import { connectAgent } from '../../agent/index.js';
import { startServer } from '../../server/index.js';

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    await cleanup();
  }
});

/**
 * Starts a gRPC server that acts as a follower replica: every Connect fails
 * with UNAVAILABLE and names `leader` in the machinehub-leader trailer.
 */
async function startFollower(leader: string): Promise<{ address: string; connects: () => number }> {
  let connects = 0;
  const follower = createServer();
  follower.add(AgentServiceDefinition, {
    async *connect(_requests: AsyncIterable<ConnectRequest>, context: CallContext): AsyncGenerator<ConnectResponse> {
      connects += 1;
      context.trailer.set('machinehub-leader', leader);
      throw new ServerError(Status.UNAVAILABLE, `this replica is a follower; the leader is ${leader}`);
    },
    async listAgents() {
      throw new ServerError(Status.UNAVAILABLE, 'follower');
    },
    async sendAgentMessage() {
      throw new ServerError(Status.UNAVAILABLE, 'follower');
    },
  });
  const port = await follower.listen('127.0.0.1:0');
  cleanups.push(() => follower.forceShutdown());
  return { address: `127.0.0.1:${port}`, connects: () => connects };
}

describe('agent leader following', () => {
  it('follows the leader a follower names', async () => {
    const leader = await startServer({ listen: '127.0.0.1:0', inMemory: true, logLevel: 'silent' });
    cleanups.push(() => leader.close());
    const follower = await startFollower(leader.address);

    const session = await connectAgent({
      server: follower.address,
      agentId: 'follower-test',
      capacity: { cpuMilli: 1000, memoryMib: 1024 },
      logger: pino({ level: 'silent' }),
      maxReconnectBackoffMs: 200,
    });
    cleanups.push(() => session.close());

    expect(session.isConnected).toBe(true);
    expect(follower.connects()).toBe(1);
    const channel = createChannel(leader.address);
    cleanups.push(() => channel.close());
    const { agents } = await createClient(AgentServiceDefinition, channel).listAgents({});
    expect(agents.map((agent) => agent.id)).toEqual(['follower-test']);
  });
});
