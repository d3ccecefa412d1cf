import type { PolicyName } from './scheduler/index.js';

/** Default listen address: loopback only, so a fresh server is never exposed. */
export const DEFAULT_LISTEN = '127.0.0.1:50051';

/**
 * gRPC message size limit in bytes, the same in server, agent and client, so
 * that anything the server accepts an agent with default settings can
 * receive. 4 MiB is gRPC's usual default.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** Settings of one server process. Every field has a default. */
export interface ServerOptions {
  /** host:port to listen on; port 0 picks a free port. Default DEFAULT_LISTEN. */
  listen?: string;
  /** Directory of the embedded SQLite store. Default './machinehub-data'. */
  dataDir?: string;
  /** Keep state in memory only, nothing on disk. Default false. */
  inMemory?: boolean;
  /** postgres:// URL: run as one of several replicas on that database. */
  postgresUrl?: string;
  /** Scheduler policy used when a task sets none. Default 'fgd'. */
  defaultPolicy?: PolicyName;
  /** Base heartbeat interval in ms, before fleet-size scaling. Default 5000. */
  heartbeatIntervalMs?: number;
  /** Time without heartbeats before a machine is DISCONNECTED, ms. Default 3 heartbeat intervals. */
  leaseTimeoutMs?: number;
  /** Time after DISCONNECTED before a machine is LOST, ms. Default 30000. */
  lostTimeoutMs?: number;
  /** Grace period between SIGTERM and SIGKILL when a task is stopped, ms. Default 10000. */
  cancelGraceMs?: number;
  /** Max inbound and outbound gRPC message size, bytes. Default DEFAULT_MAX_MESSAGE_BYTES. */
  maxMessageBytes?: number;
  /** Address other replicas and clients use to reach this one (HA). Default: the listen address. */
  advertiseAddress?: string;
  /**
   * Interval of HTTP/2 keepalive pings on idle and busy connections, ms.
   * With keepaliveTimeoutMs it bounds how long a half-dead connection (peer
   * frozen or network dropped without a FIN) can look open. Default 10000.
   */
  keepaliveTimeMs?: number;
  /** Time to wait for a ping's response before the connection is closed, ms. Default 5000. */
  keepaliveTimeoutMs?: number;
  /**
   * Time after start during which no agent is declared lost, so agents have
   * time to reconnect after a restart, ms. Default: the lost timeout.
   */
  startupGraceMs?: number;
  /** pino log level. Default 'info'. */
  logLevel?: string;
  /** Log destination: a file descriptor or path. Default 1 (stdout). */
  logDestination?: number | string;
}
