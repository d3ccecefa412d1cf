import { createChannel, type Channel } from 'nice-grpc';

import { DEFAULT_MAX_MESSAGE_BYTES } from '../server/options.js';

/**
 * Opens a gRPC channel to the server with the agent's settings. Keepalive
 * pings every 10 s, even without calls, notice a dead server or a silently
 * dropped connection within about 15 s instead of the OS TCP timeout. The
 * message size limits match the server's default.
 */
export function createAgentChannel(server: string): Channel {
  return createChannel(server, undefined, {
    'grpc.keepalive_time_ms': 10_000,
    'grpc.keepalive_timeout_ms': 5_000,
    'grpc.keepalive_permit_without_calls': 1,
    // The agent paces reconnects itself (jittered backoff, 30 s cap). grpc-js
    // adds its own connection backoff of up to 120 s by default, which kept
    // agents away for minutes after a long outage. A low cap lets ours decide.
    'grpc.initial_reconnect_backoff_ms': 250,
    'grpc.max_reconnect_backoff_ms': 2_000,
    'grpc.max_send_message_length': DEFAULT_MAX_MESSAGE_BYTES,
    'grpc.max_receive_message_length': DEFAULT_MAX_MESSAGE_BYTES,
  });
}
