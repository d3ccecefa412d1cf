import { ClientError, Status, createChannel, createClient, type Channel, type Client } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health';
import { MachineServiceDefinition, type Machine } from '../../../gen/machinehub/machine/v1/machine.js';
import { TaskServiceDefinition, TaskState, type Task } from '../../../gen/machinehub/task/v1/task.js';

/** Codes that a retry with the same request cannot change. */
const PERMANENT = new Set([Status.INVALID_ARGUMENT, Status.ALREADY_EXISTS, Status.NOT_FOUND, Status.FAILED_PRECONDITION]);

/** Deadline of one call, ms; a killed server otherwise leaves a call waiting on a dead connection. */
const CALL_TIMEOUT_MS = 3_000;

interface Replica {
  address: string;
  channel: Channel;
  tasks: Client<typeof TaskServiceDefinition>;
  machines: Client<typeof MachineServiceDefinition>;
}

/**
 * Calls whichever replica serves. A failed call moves to the next address
 * and is sent again, with the same request, until it succeeds, fails with a
 * permanent code, or `timeoutMs` passes. That is how a client with
 * client-chosen task ids survives crashes: a retried submission returns the
 * stored tasks instead of creating new ones.
 */
export class ReplicaClient {
  private readonly replicas: Replica[];
  private current = 0;
  /** Calls sent again after a failure. */
  retries = 0;

  constructor(addresses: string[]) {
    this.replicas = addresses.map((address) => {
      const channel = createChannel(address);
      return { address, channel, tasks: createClient(TaskServiceDefinition, channel), machines: createClient(MachineServiceDefinition, channel) };
    });
  }

  async call<T>(what: string, send: (replica: Replica, signal: AbortSignal) => Promise<T>, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const replica = this.replicas[this.current % this.replicas.length]!;
      try {
        return await send(replica, AbortSignal.timeout(CALL_TIMEOUT_MS));
      } catch (error) {
        if (error instanceof ClientError && PERMANENT.has(error.code)) throw error;
        if (Date.now() > deadline) throw new Error(`${what} failed for ${timeoutMs} ms; last error: ${String(error)}`, { cause: error });
        this.retries += 1;
        this.current += 1;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }

  /** Lists every task, page by page. */
  async listAllTasks(): Promise<Task[]> {
    const tasks: Task[] = [];
    let pageToken = '';
    do {
      const page = await this.call('ListTasks', (replica, signal) =>
        replica.tasks.listTasks({ state: TaskState.TASK_STATE_UNSPECIFIED, pageSize: 10_000, pageToken }, { signal }),
      );
      tasks.push(...page.tasks);
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
    return tasks;
  }

  async listAllMachines(): Promise<Machine[]> {
    const page = await this.call('ListMachines', (replica, signal) => replica.machines.listMachines({ statuses: [], pageSize: 10_000, pageToken: '' }, { signal }));
    return page.machines;
  }

  /**
   * Returns the address of a replica that serves calls now, or undefined when
   * none does. Each probe uses a new channel, because a channel whose
   * connection failed waits out gRPC's reconnect backoff (about 1 s) and
   * would make the measured recovery time longer than the server's.
   */
  async findServing(): Promise<string | undefined> {
    for (const { address } of this.replicas) {
      const channel = createChannel(address);
      try {
        const tasks = createClient(TaskServiceDefinition, channel);
        await tasks.listTasks({ state: TaskState.TASK_STATE_UNSPECIFIED, pageSize: 1, pageToken: '' }, { signal: AbortSignal.timeout(1_000) });
        return address;
      } catch {
        // Down, starting, or a follower: try the next one.
      } finally {
        channel.close();
      }
    }
    return undefined;
  }

  /** Returns whether the process at `address` is up and responds to health checks, as a leader or a follower. */
  static async answersHealth(address: string): Promise<boolean> {
    const channel = createChannel(address);
    try {
      await createClient(HealthDefinition, channel).check({ service: '' }, { signal: AbortSignal.timeout(1_000) });
      return true;
    } catch {
      return false;
    } finally {
      channel.close();
    }
  }

  close(): void {
    for (const replica of this.replicas) replica.channel.close();
  }
}
