import pg from 'pg';
import type { Logger } from 'pino';
import { ensurePgSchema, redactUrl } from '../store/pgSchema.js';
import type { Leadership } from './Leadership.js';

/** Key of the session advisory lock that the leader holds. */
export const LEADER_LOCK_KEY = 0x6d68_0002;

/** Default interval of a follower's lock attempts and of the leader's connection check, ms. */
export const DEFAULT_LEADER_POLL_MS = 1_000;

/** Client-side timeout of the leader's connection check, ms. */
const CHECK_TIMEOUT_MS = 2_000;

/**
 * TCP keepalive of the lock session, set on the PostgreSQL side (seconds and
 * probes), so the server notices a leader that vanished without closing its
 * connection after about 5 + 3 × 2 = 11 s and frees the lock.
 */
const SERVER_KEEPALIVE = { idle: 5, interval: 2, count: 3 };

export interface PgLeadershipOptions {
  /** Interval of lock attempts (follower) and connection checks (leader), ms. Default DEFAULT_LEADER_POLL_MS. */
  pollIntervalMs?: number;
}

/**
 * Leadership among replicas that share one PostgreSQL database.
 *
 * The leader is the replica whose dedicated connection holds the session
 * advisory lock LEADER_LOCK_KEY; PostgreSQL frees it when that session ends.
 * Taking over increments `leader.epoch` and records the advertised address,
 * and every write transaction of the store checks the epoch (see PgStore),
 * so a replica that lost the lock cannot commit after a successor started.
 *
 * Followers try the lock every poll interval and read the leader's address
 * for the UNAVAILABLE trailer. A follower whose connection fails opens a new
 * one at its next attempt. The leader checks its lock connection every
 * poll interval and gives up leadership when the check fails, times out or
 * finds another epoch, or when the connection reports an error or ends.
 */
export class PgLeadership implements Leadership {
  private epochValue: number | undefined;
  private address: string | undefined;
  private knownLeader: string | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private lost = false;
  private closed = false;
  /** Reason the follower's lock connection is unusable, set until acquired() opens a new one. */
  private broken: string | undefined;
  private client: pg.Client;
  private readonly lostCallbacks: Array<(reason: string) => void> = [];
  private readonly pollIntervalMs: number;

  private constructor(
    private readonly url: string,
    client: pg.Client,
    private readonly log: Logger,
    options: PgLeadershipOptions,
  ) {
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_LEADER_POLL_MS;
    this.client = client;
    this.watch(client);
  }

  /** Connects the lock session and creates the schema when missing. */
  static async open(url: string, logger: Logger, options: PgLeadershipOptions = {}): Promise<PgLeadership> {
    let client: pg.Client;
    try {
      client = await connectSession(url);
    } catch (error) {
      throw new Error(`failed to open PostgreSQL at ${redactUrl(url)}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    try {
      await ensurePgSchema(client);
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
    const leadership = new PgLeadership(url, client, logger.child({ component: 'leadership' }), options);
    await leadership.readLeader();
    return leadership;
  }

  isLeader(): boolean {
    return this.epochValue !== undefined && !this.lost;
  }

  leaderAddress(): string | undefined {
    return this.isLeader() ? this.address : this.knownLeader;
  }

  /** Fencing epoch of this replica's leadership, or undefined while it does not lead. */
  epoch(): number | undefined {
    return this.isLeader() ? this.epochValue : undefined;
  }

  async acquired(signal: AbortSignal, advertiseAddress: string): Promise<void> {
    this.address = advertiseAddress;
    let failures = 0;
    for (;;) {
      signal.throwIfAborted();
      if (this.lost || this.closed) throw new Error('leadership is closed or its connection was lost');
      try {
        if (this.broken !== undefined) await this.reconnect();
        const { rows } = await this.client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [LEADER_LOCK_KEY]);
        if (rows[0]?.locked) break;
        await this.readLeader();
        if (failures > 0) this.log.info({ failures }, 'lock connection restored');
        failures = 0;
      } catch (error) {
        // A follower outlives a database restart: it reconnects and keeps trying.
        this.broken ??= error instanceof Error ? error.message : String(error);
        failures += 1;
        if (failures === 1) this.log.warn({ err: error }, 'lock attempt failed, reconnecting every poll interval');
      }
      await sleep(this.pollIntervalMs, signal);
    }

    const { rows } = await this.client.query<{ epoch: string }>(
      'UPDATE leader SET epoch = epoch + 1, address = $1, acquired_at = now() WHERE id = 1 RETURNING epoch',
      [advertiseAddress],
    );
    this.epochValue = Number(rows[0]!.epoch);
    this.knownLeader = advertiseAddress;
    this.log.info({ epoch: this.epochValue, address: advertiseAddress }, 'became leader');
    this.scheduleCheck();
  }

  onLost(callback: (reason: string) => void): void {
    this.lostCallbacks.push(callback);
  }

  /** Gives up leadership, for example when the store finds another epoch; runs the onLost callbacks once. */
  lose(reason: string): void {
    if (this.lost || this.closed) return;
    this.lost = true;
    clearTimeout(this.checkTimer);
    const wasLeader = this.epochValue !== undefined;
    this.log.error({ epoch: this.epochValue, reason, wasLeader }, 'leadership lost');
    for (const callback of this.lostCallbacks) callback(reason);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.checkTimer);
    if (this.epochValue !== undefined && !this.lost) {
      // Followers stop naming this replica; the lock goes with the session.
      await this.client.query("UPDATE leader SET address = '' WHERE id = 1 AND epoch = $1", [this.epochValue]).catch(() => {});
    }
    await this.client.end().catch(() => {});
  }

  /**
   * Reacts to the end of a lock connection: the leader gives up leadership,
   * and a follower marks the connection broken so acquired() opens another.
   */
  private watch(client: pg.Client): void {
    const failed = (reason: string) => {
      if (client !== this.client || this.closed) return;
      if (this.epochValue !== undefined) this.lose(reason);
      else this.broken ??= reason;
    };
    client.on('error', (error) => failed(`lock connection failed: ${error.message}`));
    client.on('end', () => failed('lock connection ended'));
  }

  private async reconnect(): Promise<void> {
    const old = this.client;
    const client = await connectSession(this.url);
    this.client = client;
    this.broken = undefined;
    this.watch(client);
    await old.end().catch(() => {});
  }

  /** Caches the leader's address for followers' UNAVAILABLE trailers. */
  private async readLeader(): Promise<void> {
    const { rows } = await this.client.query<{ address: string }>('SELECT address FROM leader WHERE id = 1');
    this.knownLeader = rows[0]?.address || undefined;
  }

  private scheduleCheck(): void {
    this.checkTimer = setTimeout(() => void this.check(), this.pollIntervalMs);
  }

  /** Confirms that the lock session is alive and the epoch is still this replica's. */
  private async check(): Promise<void> {
    if (this.lost || this.closed) return;
    try {
      // pg 8 applies a per-query query_timeout on the client side; the typings omit it.
      const query = { text: 'SELECT epoch FROM leader WHERE id = 1', query_timeout: CHECK_TIMEOUT_MS } as pg.QueryConfig;
      const result = await this.client.query<{ epoch: string }>(query);
      const epoch = Number(result.rows[0]?.epoch);
      if (epoch !== this.epochValue) {
        this.lose(`epoch is ${epoch}, this replica led with ${this.epochValue}`);
        return;
      }
    } catch (error) {
      if (!this.closed) this.lose(`lock connection check failed: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    if (!this.closed) this.scheduleCheck();
  }
}

/** Opens a lock session with server-side keepalive (SERVER_KEEPALIVE). */
async function connectSession(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, keepAlive: true, application_name: 'machinehub-leadership' });
  // Errors of a connection that is not watched yet surface through the awaited calls below.
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query(
      `SET tcp_keepalives_idle = ${SERVER_KEEPALIVE.idle}; SET tcp_keepalives_interval = ${SERVER_KEEPALIVE.interval}; SET tcp_keepalives_count = ${SERVER_KEEPALIVE.count}`,
    );
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
  return client;
}

/** Resolves after `ms`, or rejects with the abort reason when `signal` aborts first. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
