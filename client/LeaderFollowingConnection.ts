import type { ChannelCredentials, ChannelOptions } from '@grpc/grpc-js';
import { createChannel, createClient, type Channel, type Client, type CompatServiceDefinition } from 'nice-grpc';

/**
 * The channel a MachinehubClient sends its calls on, replaced when the client
 * follows a leader. Clients of every service are created on the current
 * channel on first use, so all services move to a new leader together.
 */
export class LeaderFollowingConnection {
  #address: string;
  #channel: Channel;
  readonly #clients = new Map<CompatServiceDefinition, unknown>();

  constructor(
    address: string,
    private readonly credentials: ChannelCredentials | undefined,
    private readonly channelOptions: ChannelOptions,
  ) {
    this.#address = address;
    this.#channel = createChannel(address, credentials, channelOptions);
  }

  /** host:port of the server that calls go to now. */
  get address(): string {
    return this.#address;
  }

  /** Returns the client of `definition` on the current channel. */
  clientFor<Service extends CompatServiceDefinition>(definition: Service): Client<Service> {
    let client = this.#clients.get(definition) as Client<Service> | undefined;
    if (client === undefined) {
      client = createClient(definition, this.#channel);
      this.#clients.set(definition, client);
    }
    return client;
  }

  /**
   * Moves later calls to `address` and closes the old channel. grpc-js 1.14
   * lets calls already started there run to completion, but fails calls still
   * waiting for a connection on it with UNAVAILABLE.
   */
  switchTo(address: string): void {
    if (address === this.#address) {
      return;
    }
    const oldChannel = this.#channel;
    this.#address = address;
    this.#channel = createChannel(address, this.credentials, this.channelOptions);
    this.#clients.clear();
    oldChannel.close();
  }

  close(): void {
    this.#channel.close();
  }
}
