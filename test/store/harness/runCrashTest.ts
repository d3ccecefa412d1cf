import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TaskState } from '../../../gen/machinehub/task/v1/task.js';
import type { ServerOptions } from '../../../server/options.js';
import { freePort } from '../freePort.js';
import { checkInvariants, type Expectations } from './checkInvariants.js';
import { HarnessAgents } from './HarnessAgents.js';
import { ReplicaClient } from './ReplicaClient.js';
import { RoundRobinProxy } from './RoundRobinProxy.js';
import { ServerProcess } from './ServerProcess.js';
import { planTasks, seededRandom, type PlannedTask } from './taskPlan.js';

export interface CrashTestOptions {
  /** SIGKILLs of the serving replica. */
  kills: number;
  /** Tasks to submit, each with a client-chosen id. */
  tasks: number;
  /** In-process SDK agents. Default 3. */
  agents?: number;
  /** Concurrent submitters. Default 4. */
  concurrency?: number;
  /** Seed of the task plan and kill times. Default: random. */
  seed?: number;
  /** `sqlite`: one server on a data directory. `postgres`: `replicas` servers on one database. */
  store: { kind: 'sqlite' } | { kind: 'postgres'; url: string; replicas: number };
  /** Progress output. Default: none. */
  log?: (line: string) => void;
}

export interface CrashTestSummary {
  seed: number;
  violations: string[];
  acknowledged: number;
  kills: number;
  /** Calls sent again after a failure (crash, follower, timeout). */
  retries: number;
  /** From each SIGKILL to the next replica serving, ms: restart time on SQLite, takeover time on PostgreSQL. */
  recoveryMs: number[];
  /** Final task count per state name. */
  states: Record<string, number>;
  durationMs: number;
  /** Server logs; kept when a violation was found. */
  workDir: string;
}

const STABLE_TIMEOUT_MS = 90_000;

/**
 * Runs replicas as child processes, submits `tasks` tasks under load while
 * SIGKILLing the serving replica `kills` times, then checks the invariants
 * twice: once while "hold" tasks still run (allocations must match them) and
 * once after they are released (everything final, nothing allocated).
 */
export async function runCrashTest(options: CrashTestOptions): Promise<CrashTestSummary> {
  const startedAt = Date.now();
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const random = seededRandom(seed);
  const log = options.log ?? (() => {});
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'machinehub-crash-'));
  const violations: string[] = [];
  const cleanups: Array<() => Promise<void> | void> = [];

  try {
    const replicas = await startReplicas(options, workDir);
    cleanups.push(() => Promise.all(replicas.map((replica) => replica.stop())).then(() => undefined));
    const client = new ReplicaClient(replicas.map((replica) => replica.address));
    cleanups.push(() => client.close());
    await waitForServing(client, 60_000);

    let agentAddress = replicas[0]!.address;
    if (replicas.length > 1) {
      const proxy = await RoundRobinProxy.start(replicas.map((replica) => replica.address));
      cleanups.push(() => proxy.close());
      agentAddress = proxy.address;
    }
    const agents = await HarnessAgents.connect(agentAddress, options.agents ?? 3, 'crash-agent');
    cleanups.push(() => agents.close());

    const plan = planTasks(options.tasks, Math.min(20, Math.ceil(options.tasks / 20)), random, 'crash');
    const expected: Expectations = { acknowledged: new Map(), cancelled: new Set(), finished: false };
    const concurrency = options.concurrency ?? 4;
    // Spread submissions over the kills so that every kill lands under load.
    const paceMs = Math.max(0, ((options.kills + 1) * 3_000 * concurrency) / Math.max(1, options.tasks / 10));
    log(`seed ${seed}: ${options.tasks} tasks, ${options.kills} kills, ${replicas.length} replica(s), work dir ${workDir}`);

    const submitting = submitAll(plan, client, expected, concurrency, paceMs, random, violations);
    const recoveryMs = await killRepeatedly(options, replicas, client, random, log);
    await submitting;
    log(`all ${expected.acknowledged.size} submissions acknowledged after ${client.retries} retries`);

    const holdingSnapshot = await waitForStable(client, agents, plan);
    violations.push(...checkInvariants(holdingSnapshot.tasks, holdingSnapshot.machines, expected).map((v) => `while holding: ${v}`));
    agents.release();
    const final = await waitForStable(client, agents, plan, true);
    expected.finished = true;
    violations.push(...checkInvariants(final.tasks, final.machines, expected));
    violations.push(...agents.repeatedAttempts().map((key) => `attempt ${key} was started more than once`));

    const states: Record<string, number> = {};
    for (const task of final.tasks) states[TaskState[task.state]] = (states[TaskState[task.state]] ?? 0) + 1;
    return { seed, violations, acknowledged: expected.acknowledged.size, kills: options.kills, retries: client.retries, recoveryMs, states, durationMs: Date.now() - startedAt, workDir };
  } catch (error) {
    violations.push(`harness failed: ${error instanceof Error ? error.message : String(error)}`);
    return { seed, violations, acknowledged: 0, kills: options.kills, retries: 0, recoveryMs: [], states: {}, durationMs: Date.now() - startedAt, workDir };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
    if (violations.length === 0) rmSync(workDir, { recursive: true, force: true });
  }
}

async function startReplicas(options: CrashTestOptions, workDir: string): Promise<ServerProcess[]> {
  const count = options.store.kind === 'postgres' ? options.store.replicas : 1;
  const replicas: ServerProcess[] = [];
  for (let i = 0; i < count; i++) {
    const address = `127.0.0.1:${await freePort()}`;
    const name = `replica-${i}`;
    const serverOptions: ServerOptions = {
      logLevel: 'info',
      logDestination: path.join(workDir, `${name}.log`),
      heartbeatIntervalMs: 200,
      lostTimeoutMs: 2_000,
      cancelGraceMs: 200,
      ...(options.store.kind === 'postgres' ? { postgresUrl: options.store.url, advertiseAddress: address } : { dataDir: path.join(workDir, 'data') }),
    };
    const replica = new ServerProcess(name, address, serverOptions, path.join(workDir, `${name}.out`));
    replica.start();
    replicas.push(replica);
  }
  return replicas;
}

async function waitForServing(client: ReplicaClient, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const address = await client.findServing();
    if (address) return address;
    if (Date.now() > deadline) throw new Error(`no replica served within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function waitForAllUp(replicas: ServerProcess[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const replica of replicas) {
    while (!(await ReplicaClient.answersHealth(replica.address))) {
      if (Date.now() > deadline) throw new Error(`replica ${replica.name} did not start within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** Kills the serving replica `kills` times and returns the time to the next one serving after each kill. */
async function killRepeatedly(
  options: CrashTestOptions,
  replicas: ServerProcess[],
  client: ReplicaClient,
  random: () => number,
  log: (line: string) => void,
): Promise<number[]> {
  const recoveryMs: number[] = [];
  for (let kill = 1; kill <= options.kills; kill++) {
    await new Promise((resolve) => setTimeout(resolve, 300 + random() * 900));
    // A takeover needs a follower that is up, so a restarted replica must have finished starting.
    await waitForAllUp(replicas, 60_000);
    const serving = await waitForServing(client, 60_000);
    const victim = replicas.find((replica) => replica.address === serving)!;
    const killedAt = Date.now();
    await victim.kill();
    if (replicas.length === 1) victim.start();
    const next = await waitForServing(client, 60_000);
    recoveryMs.push(Date.now() - killedAt);
    // The killed replica rejoins as a follower.
    if (!victim.isRunning) victim.start();
    log(`kill ${kill}: SIGKILL ${victim.name}; ${next} serving after ${recoveryMs.at(-1)} ms`);
  }
  return recoveryMs;
}

/**
 * Submits the plan in batches of 1 to 20 from `concurrency` loops, resending
 * a failed batch unchanged until it is acknowledged. After three in ten
 * batches it cancels a random acknowledged task that is not a hold task.
 */
async function submitAll(
  plan: PlannedTask[],
  client: ReplicaClient,
  expected: Expectations,
  concurrency: number,
  paceMs: number,
  random: () => number,
  violations: string[],
): Promise<void> {
  let next = 0;
  const acknowledgedIds: string[] = [];
  const loop = async () => {
    while (next < plan.length) {
      const size = 1 + Math.floor(random() * 20);
      const batch = plan.slice(next, next + size).map((task) => task.spec);
      next += batch.length;
      try {
        await client.call('SubmitTasks', (replica, signal) => replica.tasks.submitTasks({ tasks: batch }, { signal }));
        for (const spec of batch) expected.acknowledged.set(spec.id, spec);
        acknowledgedIds.push(...batch.filter((spec) => spec.command !== 'hold').map((spec) => spec.id));
      } catch (error) {
        violations.push(`submission of ${batch[0]!.id}..${batch.at(-1)!.id} failed: ${String(error)}`);
        continue;
      }
      if (random() < 0.3) await cancelOne(acknowledgedIds, client, expected, random, violations);
      await new Promise((resolve) => setTimeout(resolve, paceMs * (0.5 + random())));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
}

async function cancelOne(ids: string[], client: ReplicaClient, expected: Expectations, random: () => number, violations: string[]): Promise<void> {
  const id = ids[Math.floor(random() * ids.length)];
  if (id === undefined) return;
  try {
    const { task } = await client.call('CancelTask', (replica, signal) => replica.tasks.cancelTask({ id }, { signal }));
    if (task?.state === TaskState.TASK_STATE_CANCELLED) expected.cancelled.add(id);
  } catch (error) {
    violations.push(`cancel of ${id} failed: ${String(error)}`);
  }
}

/**
 * Waits until agents are connected, every task other than a hold task is
 * final (all tasks with `allFinal`), and two snapshots 300 ms apart agree.
 */
async function waitForStable(client: ReplicaClient, agents: HarnessAgents, plan: PlannedTask[], allFinal = false) {
  const holdIds = new Set(plan.filter((task) => task.kind === 'hold').map((task) => task.spec.id));
  const deadline = Date.now() + STABLE_TIMEOUT_MS;
  let previous = '';
  for (;;) {
    const tasks = await client.listAllTasks();
    const machines = await client.listAllMachines();
    const settled = tasks.every(
      (task) =>
        [TaskState.TASK_STATE_COMPLETED, TaskState.TASK_STATE_FAILED, TaskState.TASK_STATE_CANCELLED].includes(task.state) ||
        (!allFinal && holdIds.has(task.id) && task.state !== TaskState.TASK_STATE_ASSIGNED),
    );
    const fingerprint = JSON.stringify([tasks.map((task) => [task.id, task.state, task.attempt]), machines.map((m) => [m.id, m.status, m.allocated])]);
    if (settled && agents.allConnected && fingerprint === previous) return { tasks, machines };
    if (Date.now() > deadline) {
      const pending = tasks.filter((task) => !holdIds.has(task.id) && task.state < TaskState.TASK_STATE_COMPLETED).slice(0, 5);
      throw new Error(`no stable state within ${STABLE_TIMEOUT_MS} ms; not final: ${pending.map((t) => `${t.id} ${TaskState[t.state]} (${t.reason})`).join(', ')}`);
    }
    previous = settled ? fingerprint : '';
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

