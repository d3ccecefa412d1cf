/** Liveness settings of the agent link; see ServerOptions for defaults. */
export interface LeaseSettings {
  /** Heartbeat interval for a small fleet, ms. */
  heartbeatIntervalMs: number;
  /** Silence before DISCONNECTED at that interval, ms. */
  leaseTimeoutMs: number;
  /** Time DISCONNECTED before LOST, ms. */
  lostTimeoutMs: number;
  /** Fleet-wide heartbeat budget: intervals stretch so all agents together stay under it. */
  maxHeartbeatsPerSecond: number;
}

export const DEFAULT_HEARTBEAT_INTERVAL_MS = 5_000;
export const DEFAULT_LOST_TIMEOUT_MS = 30_000;
/** 10,000 agents at the 5 s default send 2,000 heartbeats/s; beyond that intervals grow. */
export const DEFAULT_MAX_HEARTBEATS_PER_SECOND = 2_000;

/**
 * Heartbeat interval and lease for an agent joining a fleet of `fleetSize`
 * connected agents. The interval grows with the fleet so heartbeat traffic
 * stays under the budget, and the lease grows in proportion so the number of
 * heartbeats an agent may miss stays the same.
 */
export function leaseFor(settings: LeaseSettings, fleetSize: number): { heartbeatIntervalMs: number; leaseTimeoutMs: number } {
  const budgetInterval = Math.ceil((fleetSize * 1000) / settings.maxHeartbeatsPerSecond);
  const heartbeatIntervalMs = Math.max(settings.heartbeatIntervalMs, budgetInterval);
  const scale = heartbeatIntervalMs / settings.heartbeatIntervalMs;
  return { heartbeatIntervalMs, leaseTimeoutMs: Math.round(settings.leaseTimeoutMs * scale) };
}
