/**
 * Leadership: the right of one replica to schedule and write. A single server
 * is always leader. On PostgreSQL the replicas elect one through the database.
 */
export interface Leadership {
  /** True while this replica is leader and may write. */
  isLeader(): boolean;
  /** Advertised address of the current leader, when known. */
  leaderAddress(): string | undefined;
  /**
   * Resolves when this replica becomes leader, recording `advertiseAddress`
   * (host:port) as the address followers name. Rejects when the signal aborts.
   */
  acquired(signal: AbortSignal, advertiseAddress: string): Promise<void>;
  /** Registers a callback for the loss of leadership; the server then stops serving. */
  onLost(callback: (reason: string) => void): void;
  /** Releases leadership and any connection it holds. */
  close(): Promise<void>;
}

/** Leadership of a server with no peers: leader from the start, never lost. */
export class SoleLeadership implements Leadership {
  isLeader(): boolean {
    return true;
  }
  leaderAddress(): string | undefined {
    return undefined;
  }
  async acquired(): Promise<void> {}
  onLost(): void {}
  async close(): Promise<void> {}
}
