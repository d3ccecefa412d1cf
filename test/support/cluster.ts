/**
 * Test harness: a real server on 127.0.0.1:0, real agent processes started
 * through the `machinehub agent` CLI, a client, and cleanup after each test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import { MachineStatus, type Machine } from '../../gen/machinehub/machine/v1/machine.js';
import { TaskState, type Task, type TaskSpec } from '../../gen/machinehub/task/v1/task.js';
import { createMachinehubClient, type MachinehubClient } from '../../client/index.js';
import { startServer, type RunningServer, type ServerOptions } from '../../server/index.js';
import { waitFor } from '../agent/waitFor.js';

export { waitFor };

const CLI = fileURLToPath(new URL('../../bin/machinehub.js', import.meta.url));
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Registers work to undo after the current test, in reverse order. */
export function onCleanup(cleanup: () => Promise<void> | void): void {
  cleanups.push(cleanup);
}

/** Lease settings short enough that failure tests finish in seconds. */
export const FAST_LEASES: ServerOptions = {
  heartbeatIntervalMs: 200,
  leaseTimeoutMs: 800,
  lostTimeoutMs: 800,
  cancelGraceMs: 500,
};

export interface TestServer {
  server: RunningServer;
  client: MachinehubClient;
}

/** Starts an in-memory server with fast leases and a client to it. */
export async function startTestServer(options: ServerOptions = {}): Promise<TestServer> {
  const server = await startServer({ listen: '127.0.0.1:0', inMemory: true, logLevel: 'silent', ...FAST_LEASES, ...options });
  onCleanup(() => server.close());
  const client = createMachinehubClient(server.address);
  onCleanup(() => client.close());
  return { server, client };
}

export interface AgentProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `machinehub agent` as a child process with the given flags. */
export function spawnAgent(address: string, id: string, flags: string[]): AgentProcess {
  const child = spawn(process.execPath, [CLI, 'agent', '--server', address, '--id', id, '--log-level', 'info', ...flags], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
      await exited;
    }
  });
  return { child, output: () => output, exited };
}

/** Waits until the machine exists with `status`, and returns it. */
export function waitForMachine(client: MachinehubClient, id: string, status = MachineStatus.MACHINE_STATUS_READY, timeoutMs = 30_000): Promise<Machine> {
  return waitFor(`machine ${id} ${MachineStatus[status]}`, async () => {
    const { machines } = await client.machines.listMachines({ statuses: [status], pageSize: 0, pageToken: '' });
    return machines.find((machine) => machine.id === id);
  }, timeoutMs);
}

/** Waits until the task satisfies `done`, and returns it. */
export function waitForTask(client: MachinehubClient, id: string, done: (task: Task) => boolean, what: string, timeoutMs = 20_000): Promise<Task> {
  return waitFor(`task ${id} ${what}`, async () => {
    const { task } = await client.tasks.getTask({ id });
    return task && done(task) ? task : undefined;
  }, timeoutMs);
}

export const inState = (state: TaskState) => (task: Task) => task.state === state;

/** Builds a task spec with every field set, for tests to override. */
export function taskSpec(overrides: Omit<Partial<TaskSpec>, 'resources'> & { resources?: Partial<NonNullable<TaskSpec['resources']>> | undefined } = {}): TaskSpec {
  const { resources, ...rest } = overrides;
  return {
    id: '',
    name: '',
    priority: 0,
    command: 'true',
    args: [],
    env: {},
    stdin: Buffer.alloc(0),
    constraints: [],
    policy: 0,
    retry: undefined,
    timeout: undefined,
    ...rest,
    resources: { cpuMilli: 1000, memoryMib: 64, gpuCount: 0, gpuMilli: 0, gpuMemoryMib: 0, gpuModels: [], ...resources },
  };
}
