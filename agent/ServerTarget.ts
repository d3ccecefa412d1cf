import { createClient, type Channel, type Client } from 'nice-grpc';
import type { Logger } from 'pino';

import { LEADER_METADATA_KEY } from '../client/followLeader.js';
import { AgentServiceDefinition } from '../gen/machinehub/agent/v1/agent.js';
import { createAgentChannel } from './createAgentChannel.js';

export { LEADER_METADATA_KEY };

/**
 * The server an agent connects to: the configured address, or the leader a
 * follower replica named in its `machinehub-leader` trailer. A channel passed
 * in by the caller is shared and fixed, so it is never switched or closed.
 */
export class ServerTarget {
  private currentAddress: string;
  private channel: Channel;
  private agentClient: Client<typeof AgentServiceDefinition>;
  private readonly ownsChannel: boolean;

  constructor(
    private readonly configuredAddress: string,
    sharedChannel: Channel | undefined,
    private readonly logger: Logger,
  ) {
    this.currentAddress = configuredAddress;
    this.ownsChannel = sharedChannel === undefined;
    this.channel = sharedChannel ?? createAgentChannel(configuredAddress);
    this.agentClient = createClient(AgentServiceDefinition, this.channel);
  }

  get address(): string {
    return this.currentAddress;
  }

  get client(): Client<typeof AgentServiceDefinition> {
    return this.agentClient;
  }

  /**
   * Switches to the leader a follower named. Returns false, and stays, when
   * it is the current address or the channel is shared.
   */
  followLeader(leader: string): boolean {
    if (leader === this.currentAddress) {
      return false;
    }
    if (!this.ownsChannel) {
      this.logger.warn({ leader }, 'server named another leader, but a shared channel cannot follow it');
      return false;
    }
    this.logger.info({ from: this.currentAddress, leader }, 'following the leader');
    this.switchTo(leader);
    return true;
  }

  /**
   * Returns to the configured address after a followed leader failed, since
   * the configured replica can name the next leader. Returns false when
   * already there.
   */
  fallBack(): boolean {
    if (this.currentAddress === this.configuredAddress || !this.ownsChannel) {
      return false;
    }
    this.logger.info({ from: this.currentAddress, server: this.configuredAddress }, 'leader unreachable; returning to the configured server');
    this.switchTo(this.configuredAddress);
    return true;
  }

  close(): void {
    if (this.ownsChannel) {
      this.channel.close();
    }
  }

  private switchTo(address: string): void {
    this.channel.close();
    this.currentAddress = address;
    this.channel = createAgentChannel(address);
    this.agentClient = createClient(AgentServiceDefinition, this.channel);
  }
}
