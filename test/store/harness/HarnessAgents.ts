import { pino } from 'pino';
import { connectAgent, type AgentSession } from '../../../agent/index.js';

const silentLogger = pino({ level: 'silent' });

/** Capacity of each harness agent: 8 cores, 16 GiB, two 16 GiB GPUs. */
const AGENT_CAPACITY = {
  cpuMilli: 8_000,
  memoryMib: 16_384,
  gpus: [
    { index: 0, model: 'T4', memoryMib: 16_384 },
    { index: 1, model: 'T4', memoryMib: 16_384 },
  ],
};

/**
 * In-process SDK agents that run harness tasks by their command: "work"
 * sleeps 5 to 40 ms and exits 0, "flaky" exits 1 on its first attempt,
 * "hold" runs until release(). They record every start of a (task, attempt),
 * because the server must never hand out the same attempt twice.
 */
export class HarnessAgents {
  readonly sessions: AgentSession[] = [];
  /** Starts per "taskId:attempt". */
  readonly starts = new Map<string, number>();
  private released = false;
  private readonly releaseWaiters = new Set<() => void>();

  private constructor() {}

  /** Connects `count` agents to `server` (an address or a proxy in front of the replicas). */
  static async connect(server: string, count: number, idPrefix: string): Promise<HarnessAgents> {
    const agents = new HarnessAgents();
    for (let i = 0; i < count; i++) {
      const session = await connectAgent({
        server,
        agentId: `${idPrefix}-${i}`,
        capacity: AGENT_CAPACITY,
        logger: silentLogger,
        maxReconnectBackoffMs: 200,
        onTask: (assignment, signal) => agents.run(assignment.taskId, assignment.attempt, assignment.spec?.command ?? '', signal),
      });
      agents.sessions.push(session);
    }
    return agents;
  }

  /** "taskId:attempt" keys that were started more than once. */
  repeatedAttempts(): string[] {
    return [...this.starts].filter(([, count]) => count > 1).map(([key, count]) => `${key} x${count}`);
  }

  get allConnected(): boolean {
    return this.sessions.every((session) => session.isConnected);
  }

  /** Lets every "hold" task, running or future, finish with exit code 0. */
  release(): void {
    this.released = true;
    for (const wake of this.releaseWaiters) wake();
    this.releaseWaiters.clear();
  }

  async close(): Promise<void> {
    await Promise.all(this.sessions.map((session) => session.close()));
  }

  private async run(taskId: string, attempt: number, command: string, signal: AbortSignal): Promise<number> {
    const key = `${taskId}:${attempt}`;
    this.starts.set(key, (this.starts.get(key) ?? 0) + 1);
    if (command === 'hold') {
      if (!this.released) await this.until(signal, (wake) => this.releaseWaiters.add(wake));
      return signal.aborted ? -1 : 0;
    }
    await this.until(signal, (wake) => setTimeout(wake, 5 + Math.floor(Math.random() * 35)));
    if (signal.aborted) return -1;
    return command === 'flaky' && attempt === 1 ? 1 : 0;
  }

  /** Waits until `register`'s callback runs or the signal aborts. */
  private until(signal: AbortSignal, register: (wake: () => void) => void): Promise<void> {
    return new Promise((resolve) => {
      signal.addEventListener('abort', () => resolve(), { once: true });
      register(resolve);
    });
  }
}
