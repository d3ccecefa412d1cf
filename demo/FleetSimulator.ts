import { setMaxListeners } from 'node:events';
import { createChannel, createClient, type Channel } from 'nice-grpc';
import { AgentServiceDefinition, type ConnectRequest, type ConnectResponse } from '../gen/machinehub/agent/v1/agent.js';
import { TaskState } from '../gen/machinehub/task/v1/task.js';
import type { MachineCapacity } from '../gen/machinehub/machine/v1/machine.js';
import { RequestQueue } from '../agent/RequestQueue.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../server/options.js';

/** A machine the simulator serves with one Connect stream. */
export interface SimulatedMachine {
  id: string;
  capacity: MachineCapacity;
}

export interface FleetEvents {
  /** An attempt was assigned; `gpuIndices` as the server chose them. */
  onAssigned?(taskId: string, machineId: string, gpuIndices: number[]): void;
  /** The simulated process started, `atMs` on the performance clock. */
  onRunning?(taskId: string, machineId: string, atMs: number): void;
  onFinished?(taskId: string, machineId: string): void;
}

/** Streams per HTTP/2 connection; real agents have one each, the simulator shares to save sockets. */
const STREAMS_PER_CHANNEL = 100;
/** How often the heartbeat timer looks for agents that are due. */
const HEARTBEAT_TICK_MS = 250;

interface SimulatedAgent {
  machine: SimulatedMachine;
  requests: RequestQueue<ConnectRequest>;
  heartbeatIntervalMs: number;
  nextHeartbeatMs: number;
  sequence: number;
  running: Map<string, { attempt: number; timer: NodeJS.Timeout }>;
}

/**
 * Simulated agents: one real Connect stream per machine, speaking the agent
 * protocol. An assigned task "runs" for the seconds given as the first
 * argument of its `sleep` command, then reports COMPLETED. This lets one
 * process stand in for a fleet of thousands of machines.
 */
export class FleetSimulator {
  private readonly channels: Channel[] = [];
  private readonly agents = new Map<string, SimulatedAgent>();
  private readonly abort = new AbortController();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  /** One promise per stream, settled when the stream ends. */
  private readonly streams: Promise<void>[] = [];

  constructor(
    private readonly address: string,
    private readonly events: FleetEvents = {},
  ) {
    // Every stream listens on `abort`; thousands of listeners are expected, not a leak.
    setMaxListeners(0, this.abort.signal);
  }

  /** Opens a stream per machine; resolves when the server registered all of them. */
  async start(machines: SimulatedMachine[]): Promise<void> {
    const registrations: Promise<void>[] = [];
    for (const [position, machine] of machines.entries()) {
      if (position % STREAMS_PER_CHANNEL === 0) {
        this.channels.push(
          createChannel(this.address, undefined, {
            'grpc.max_send_message_length': DEFAULT_MAX_MESSAGE_BYTES,
            'grpc.max_receive_message_length': DEFAULT_MAX_MESSAGE_BYTES,
          }),
        );
      }
      registrations.push(this.connect(machine, this.channels.at(-1) as Channel));
    }
    await Promise.all(registrations);
    this.heartbeatTimer = setInterval(() => this.sendDueHeartbeats(), HEARTBEAT_TICK_MS);
  }

  private connect(machine: SimulatedMachine, channel: Channel): Promise<void> {
    const client = createClient(AgentServiceDefinition, channel);
    const agent: SimulatedAgent = {
      machine,
      requests: new RequestQueue<ConnectRequest>(),
      heartbeatIntervalMs: 5_000,
      nextHeartbeatMs: 0,
      sequence: 0,
      running: new Map(),
    };
    this.agents.set(machine.id, agent);
    agent.requests.push({
      kind: {
        $case: 'register',
        register: { agentId: machine.id, machineId: machine.id, capacity: machine.capacity, labels: {}, running: [], protocolVersion: 1 },
      },
    });
    return new Promise<void>((resolve, reject) => {
      const responses = client.connect(agent.requests, { signal: this.abort.signal });
      const stream = (async () => {
        try {
          for await (const response of responses) {
            if (response.kind?.$case === 'registered') {
              const interval = response.kind.registered.heartbeatInterval;
              agent.heartbeatIntervalMs = (interval?.seconds ?? 5) * 1000 + Math.floor((interval?.nanos ?? 0) / 1e6);
              agent.nextHeartbeatMs = Date.now() + Math.random() * agent.heartbeatIntervalMs;
              resolve();
            } else {
              this.handle(agent, response);
            }
          }
          reject(new Error(`stream of ${machine.id} ended before registration`));
        } catch (error) {
          if (!this.abort.signal.aborted) reject(error);
        }
      })();
      this.streams.push(stream);
    });
  }

  private handle(agent: SimulatedAgent, response: ConnectResponse): void {
    const kind = response.kind;
    const machineId = agent.machine.id;
    if (kind?.$case === 'assignTask') {
      const { taskId, attempt, spec, gpuIndices } = kind.assignTask;
      this.events.onAssigned?.(taskId, machineId, gpuIndices);
      const seconds = Number(spec?.args[0] ?? '0');
      agent.requests.push(status(taskId, attempt, TaskState.TASK_STATE_RUNNING, 0));
      this.events.onRunning?.(taskId, machineId, performance.now());
      const timer = setTimeout(() => {
        agent.running.delete(taskId);
        agent.requests.push(status(taskId, attempt, TaskState.TASK_STATE_COMPLETED, 0));
        this.events.onFinished?.(taskId, machineId);
      }, Math.max(0, seconds * 1000));
      agent.running.set(taskId, { attempt, timer });
    } else if (kind?.$case === 'cancelTask') {
      const { taskId, attempt } = kind.cancelTask;
      const run = agent.running.get(taskId);
      if (run) clearTimeout(run.timer);
      agent.running.delete(taskId);
      agent.requests.push(status(taskId, attempt, TaskState.TASK_STATE_CANCELLED, -1));
    }
  }

  private sendDueHeartbeats(): void {
    const now = Date.now();
    for (const agent of this.agents.values()) {
      if (agent.nextHeartbeatMs === 0 || agent.nextHeartbeatMs > now) continue;
      agent.nextHeartbeatMs = now + agent.heartbeatIntervalMs;
      agent.sequence += 1;
      const running = [...agent.running].map(([taskId, run]) => ({ taskId, attempt: run.attempt }));
      agent.requests.push({ kind: { $case: 'heartbeat', heartbeat: { sequence: agent.sequence, running } } });
    }
  }

  /**
   * Leaves the way a real agent does on SIGTERM: Drain, then a half-close,
   * so the server records a clean leave rather than a lost link. Streams
   * still open after `graceMs` are cancelled.
   */
  async stop(graceMs = 2_000): Promise<void> {
    clearInterval(this.heartbeatTimer);
    for (const agent of this.agents.values()) {
      for (const run of agent.running.values()) clearTimeout(run.timer);
      agent.requests.push({ kind: { $case: 'drain', drain: { deadline: { seconds: 0, nanos: 0 } } } });
      agent.requests.end();
    }
    await Promise.race([Promise.allSettled(this.streams), new Promise((resolve) => setTimeout(resolve, graceMs))]);
    this.abort.abort();
    for (const channel of this.channels) channel.close();
  }
}

function status(taskId: string, attempt: number, state: TaskState, exitCode: number): ConnectRequest {
  return { kind: { $case: 'taskStatus', taskStatus: { taskId, attempt, state, exitCode, error: '', outputTail: '' } } };
}
