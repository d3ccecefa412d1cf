import type { ChannelCredentials, ChannelOptions } from '@grpc/grpc-js';
import type { Client } from 'nice-grpc';
import { AgentServiceDefinition } from '../gen/machinehub/agent/v1/agent.js';
import { MachineServiceDefinition } from '../gen/machinehub/machine/v1/machine.js';
import { TaskServiceDefinition } from '../gen/machinehub/task/v1/task.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../server/options.js';
import { followLeader } from './followLeader.js';
import { LeaderFollowingConnection } from './LeaderFollowingConnection.js';

/** Settings of a MachinehubClient. Every field has a default. */
export interface MachinehubClientOptions {
  /** Max outbound and inbound message size, bytes. Default DEFAULT_MAX_MESSAGE_BYTES (4 MiB), the server's default. */
  maxMessageBytes?: number;
  /** Interval between HTTP/2 keepalive pings, ms. Default 30000. */
  keepaliveTimeMs?: number;
  /** Time to wait for a ping's response before the connection counts as dead, ms. Default 10000. */
  keepaliveTimeoutMs?: number;
  /** Channel credentials. Default: plaintext, as the server serves today. */
  credentials?: ChannelCredentials;
  /** Extra grpc-js channel options; they override the options derived above. */
  channelOptions?: ChannelOptions;
}

/** Clients of the three machinehub services, sharing one channel. */
export interface MachinehubClient {
  machines: Client<typeof MachineServiceDefinition>;
  tasks: Client<typeof TaskServiceDefinition>;
  agents: Client<typeof AgentServiceDefinition>;
  /** host:port that calls go to now; it changes when the client follows a leader. */
  readonly address: string;
  /** Closes the channel. Calls made afterwards fail. */
  close(): void;
}

/**
 * Creates clients of MachineService, TaskService and AgentService for the
 * server at `address` (host:port).
 *
 * The client follows the leader of a replicated hub: when a call fails with
 * UNAVAILABLE and the trailer metadata key `machinehub-leader` names another
 * address, every service switches to that address and the call is sent once
 * more. See followLeader for which calls are retried.
 */
export function createMachinehubClient(address: string, options: MachinehubClientOptions = {}): MachinehubClient {
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const channelOptions: ChannelOptions = {
    'grpc.max_send_message_length': maxMessageBytes,
    'grpc.max_receive_message_length': maxMessageBytes,
    // The grpc-js 1.14 server accepts pings at any rate. Servers on gRPC C-core
    // or grpc-go close connections that ping more often than their minimum
    // ping interval (5 minutes by default), so raise this for such a server.
    'grpc.keepalive_time_ms': options.keepaliveTimeMs ?? 30_000,
    'grpc.keepalive_timeout_ms': options.keepaliveTimeoutMs ?? 10_000,
    'grpc.keepalive_permit_without_calls': 1,
    ...options.channelOptions,
  };
  const connection = new LeaderFollowingConnection(address, options.credentials, channelOptions);

  return {
    machines: followLeader(MachineServiceDefinition, connection),
    tasks: followLeader(TaskServiceDefinition, connection),
    agents: followLeader(AgentServiceDefinition, connection),
    get address() {
      return connection.address;
    },
    close: () => connection.close(),
  };
}
