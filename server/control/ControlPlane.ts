import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { TaskState, type Attempt, type TaskSpec } from '../../gen/machinehub/task/v1/task.js';
import { MachineCapacity, MachineStatus } from '../../gen/machinehub/machine/v1/machine.js';
import { CancelReason, type ConnectResponse, type RunningAttempt } from '../../gen/machinehub/agent/v1/agent.js';
import type { Scheduler, Placement } from '../scheduler/index.js';
import type { Store } from '../store/Store.js';
import { alreadyExists, failedPrecondition, notFound } from '../errors.js';
import { planSubmission } from './planSubmission.js';
import { clip } from './validateTaskSpec.js';
import { newTaskId } from './ids.js';
import { toDemand } from './demand.js';
import { backoffMs, maxAttempts, msToDuration } from './retry.js';
import { isFinal } from './taskStates.js';
import type { MachineRecord, TaskRecord } from './records.js';
import { MachineTable, type AgentLink } from './MachineTable.js';
import { WarnLimiter } from './WarnLimiter.js';

/**
 * Maximum placements per scheduling pass. A pass runs on the event loop, so
 * the bound keeps heartbeats and RPCs flowing while a large queue drains. The
 * next pass starts on the following turn.
 */
const MAX_PLACEMENTS_PER_PASS = 2_000;

/** Minimum time between two cancels of the same stale attempt; several heartbeats at the default interval. */
const STALE_CANCEL_INTERVAL_MS = 5_000;
/** Most stale attempts remembered; past it the table starts over, so memory stays bounded. */
const MAX_STALE_CANCELS = 100_000;
/** Maximum length of the output tail and error kept from a report, bytes; the proto promises at most this. */
export const MAX_REPORT_TEXT = 4096;

export interface ControlPlaneOptions {
  scheduler: Scheduler;
  store: Store;
  logger: Logger;
  maxMessageBytes: number;
  cancelGraceMs: number;
}

/** Outcome of an attempt, reported by the agent or decided by the server when the machine is lost. */
interface AttemptOutcome {
  state: TaskState;
  exitCode: number;
  error: string;
  outputTail?: string;
  /** False when no retry may follow (client cancel). */
  retryable: boolean;
}

/**
 * The task state machine. It owns every TaskRecord and, through `fleet`,
 * every MachineRecord; it turns scheduler placements into assignments and
 * applies agent reports. Invariant: a task is in the scheduler's queue iff it
 * is QUEUED with no pending backoff, and has an allocation iff it is
 * ASSIGNED or RUNNING; `fleet.activeOn` lists the latter per machine.
 *
 * Emits 'task' (record, previousState) and 'machine' (record, removed).
 */
export class ControlPlane extends EventEmitter {
  readonly tasks = new Map<string, TaskRecord>();
  readonly fleet: MachineTable;
  private readonly backoff = new Set<string>();
  private seq = 0;
  private passScheduled = false;
  private readonly scheduler: Scheduler;
  private readonly store: Store;
  private readonly log: Logger;
  /** Warnings an agent can repeat on every message, such as stale reports on each heartbeat. */
  private readonly staleWarnings: WarnLimiter;
  /** When a stale-attempt cancel last went out, by machine, task and attempt. */
  private readonly staleCancels = new Map<string, number>();

  constructor(private readonly options: ControlPlaneOptions) {
    super();
    this.setMaxListeners(0);
    this.scheduler = options.scheduler;
    this.store = options.store;
    this.log = options.logger;
    this.staleWarnings = new WarnLimiter(this.log);
    this.fleet = new MachineTable(this.scheduler, this.store, this.log, this, () => this.requestPass());
  }

  /** Rebuilds state from the store after a restart; assigned tasks keep their allocations. */
  restore(machines: MachineRecord[], tasks: TaskRecord[]): void {
    for (const machine of machines) this.fleet.restore(machine);
    for (const task of [...tasks].sort((a, b) => a.seq - b.seq)) {
      this.tasks.set(task.id, task);
      this.seq = Math.max(this.seq, task.seq);
      if (task.state === TaskState.TASK_STATE_QUEUED) {
        if (task.retryAtMs > 0) this.backoff.add(task.id);
        else this.scheduler.enqueue(toDemand(task.id, task.spec));
      } else if (task.state === TaskState.TASK_STATE_ASSIGNED || task.state === TaskState.TASK_STATE_RUNNING) {
        const adopted = this.scheduler.adopt(toDemand(task.id, task.spec), task.machineId, task.gpuIndices, task.gpuMilli);
        if (adopted) this.fleet.activeOn(task.machineId).add(task.id);
        else this.endAttempt(task, lostOutcome('its machine no longer fits it after a restart'));
      }
    }
  }

  // ---- Tasks -------------------------------------------------------------

  /** Accepts a batch atomically; resolves once the new records are durable. */
  async submit(specs: TaskSpec[]): Promise<TaskRecord[]> {
    const plan = planSubmission(specs, this.tasks, this.options.maxMessageBytes);
    const now = new Date();
    const accepted = plan.map((item) => ('seq' in item ? item : this.createTask(item, now)));
    await this.store.flush();
    this.requestPass();
    return accepted;
  }

  private createTask(spec: TaskSpec, now: Date): TaskRecord {
    const id = spec.id || newTaskId(now.getTime());
    const record: TaskRecord = {
      id,
      spec: { ...spec, id },
      state: TaskState.TASK_STATE_QUEUED,
      reason: 'waiting for the first scheduling pass',
      attempt: 0,
      machineId: '',
      gpuIndices: [],
      attempts: [],
      createTime: now,
      startTime: undefined,
      finishTime: undefined,
      exitCode: -1,
      error: '',
      outputTail: '',
      cancelRequested: false,
      seq: ++this.seq,
      gpuMilli: 0,
      retryAtMs: 0,
    };
    this.tasks.set(id, record);
    this.scheduler.enqueue(toDemand(id, record.spec));
    this.store.saveTask(record);
    this.emit('task', record, TaskState.TASK_STATE_UNSPECIFIED);
    this.log.debug({ taskId: id, priority: spec.priority }, 'task accepted');
    return record;
  }

  getTask(id: string): TaskRecord {
    const task = this.tasks.get(id);
    if (!task) throw notFound(`task "${clip(id)}" not found`);
    return task;
  }

  /** Operator-facing reason of a queued task, computed when asked for. */
  reasonOf(task: TaskRecord): string {
    if (task.state !== TaskState.TASK_STATE_QUEUED || task.retryAtMs > 0) return task.reason;
    return this.scheduler.queueReason(task.id) ?? task.reason;
  }

  /** Cancels a task: at once when queued, through its agent when placed. */
  async cancel(id: string): Promise<TaskRecord> {
    const task = this.getTask(id);
    if (isFinal(task.state)) return task;
    if (task.state === TaskState.TASK_STATE_QUEUED) {
      this.scheduler.dequeue(id);
      this.backoff.delete(id);
      this.finish(task, TaskState.TASK_STATE_CANCELLED, 'cancelled by a client while queued');
    } else if (!task.cancelRequested) {
      task.cancelRequested = true;
      this.store.saveTask(task);
      this.emit('task', task, task.state);
      this.sendCancel(task, CancelReason.CANCEL_REASON_CLIENT);
      this.log.info({ taskId: id, attempt: task.attempt, machineId: task.machineId }, 'cancel sent to agent');
    }
    await this.store.flush();
    return task;
  }

  private sendCancel(task: TaskRecord, reason: CancelReason): void {
    this.fleet.send(task.machineId, cancelMessage(task.id, task.attempt, this.options.cancelGraceMs, reason));
  }

  // ---- Scheduling --------------------------------------------------------

  /** Runs a scheduling pass on the next event-loop turn; many requests coalesce into one. */
  requestPass(): void {
    if (this.passScheduled) return;
    this.passScheduled = true;
    setImmediate(() => {
      this.passScheduled = false;
      const placements = this.scheduler.schedule(MAX_PLACEMENTS_PER_PASS);
      for (const placement of placements) this.assign(placement);
      if (placements.length === MAX_PLACEMENTS_PER_PASS) this.requestPass();
    });
  }

  private assign(placement: Placement): void {
    const task = this.tasks.get(placement.taskId);
    if (!task) return;
    const now = new Date();
    task.attempt += 1;
    task.state = TaskState.TASK_STATE_ASSIGNED;
    task.reason = '';
    task.machineId = placement.machineId;
    task.gpuIndices = placement.gpuIndices;
    task.gpuMilli = placement.gpuMilli;
    const attempt: Attempt = {
      number: task.attempt,
      machineId: placement.machineId,
      gpuIndices: placement.gpuIndices,
      state: TaskState.TASK_STATE_ASSIGNED,
      assignedTime: now,
      startedTime: undefined,
      finishedTime: undefined,
      exitCode: -1,
      error: '',
    };
    task.attempts.push(attempt);
    this.fleet.activeOn(placement.machineId).add(task.id);
    this.store.saveTask(task);
    this.emit('task', task, TaskState.TASK_STATE_QUEUED);
    this.log.info(
      { taskId: task.id, attempt: task.attempt, machineId: placement.machineId, gpuIndices: placement.gpuIndices },
      'task placed',
    );
    this.sendAssignmentWhenDurable(task, {
      kind: {
        $case: 'assignTask',
        assignTask: {
          taskId: task.id,
          attempt: task.attempt,
          spec: task.spec,
          gpuIndices: task.gpuIndices,
          assignedTime: now,
          killGracePeriod: msToDuration(this.options.cancelGraceMs),
        },
      },
    });
  }

  /**
   * Sends an assignment once the commit that records it is durable. Sent
   * earlier, a crash before that commit would restore the task as QUEUED
   * while an agent runs the attempt, and the next placement would hand out
   * the same attempt number a second time. A cancel requested meanwhile was
   * sent before the assignment, so it is sent again after it.
   */
  private sendAssignmentWhenDurable(task: TaskRecord, message: ConnectResponse): void {
    const { attempt, machineId } = task;
    this.store.flush().then(
      () => {
        const current = task.attempt === attempt && task.machineId === machineId && task.state === TaskState.TASK_STATE_ASSIGNED;
        if (!current) return;
        this.fleet.send(machineId, message);
        if (task.cancelRequested) this.sendCancel(task, CancelReason.CANCEL_REASON_CLIENT);
      },
      (error: unknown) => {
        this.log.warn({ err: error, taskId: task.id, attempt, machineId }, 'commit of an assignment failed, sending it after the retried commit');
        this.sendAssignmentWhenDurable(task, message);
      },
    );
  }

  /** Moves tasks whose retry backoff has passed back into the queue. Called by the lease timer. */
  releaseBackoffs(nowMs: number): void {
    for (const id of this.backoff) {
      const task = this.tasks.get(id);
      if (!task || task.retryAtMs > nowMs) continue;
      this.backoff.delete(id);
      task.retryAtMs = 0;
      this.scheduler.enqueue(toDemand(id, task.spec));
      this.store.saveTask(task);
      this.requestPass();
    }
  }

  // ---- Agent reports -----------------------------------------------------

  /**
   * Applies a TaskStatus from the agent of `machineId`. A report for an
   * attempt that is not current there is rejected: when it reports RUNNING,
   * the agent gets a CancelTask for that copy. Returns false when rejected.
   */
  applyStatus(
    machineId: string,
    report: { taskId: string; attempt: number; state: TaskState; exitCode: number; error: string; outputTail: string },
  ): boolean {
    const task = this.tasks.get(report.taskId);
    const current =
      task !== undefined &&
      task.machineId === machineId &&
      task.attempt === report.attempt &&
      (task.state === TaskState.TASK_STATE_ASSIGNED || task.state === TaskState.TASK_STATE_RUNNING);
    if (!current) {
      this.staleWarnings.warn(
        `report:${machineId}`,
        { taskId: report.taskId, attempt: report.attempt, machineId, currentAttempt: task?.attempt, currentMachineId: task?.machineId },
        'rejected report for a stale attempt',
      );
      if (report.state === TaskState.TASK_STATE_RUNNING) {
        this.cancelStale(machineId, report.taskId, report.attempt);
      }
      return false;
    }

    switch (report.state) {
      case TaskState.TASK_STATE_RUNNING: {
        if (task.state === TaskState.TASK_STATE_RUNNING) return true;
        const now = new Date();
        task.state = TaskState.TASK_STATE_RUNNING;
        task.startTime = now;
        const attempt = task.attempts.at(-1);
        if (attempt) {
          attempt.state = TaskState.TASK_STATE_RUNNING;
          attempt.startedTime = now;
        }
        this.store.saveTask(task);
        this.emit('task', task, TaskState.TASK_STATE_ASSIGNED);
        this.log.debug({ taskId: task.id, attempt: task.attempt, machineId }, 'task running');
        return true;
      }
      case TaskState.TASK_STATE_COMPLETED:
      case TaskState.TASK_STATE_FAILED:
      case TaskState.TASK_STATE_CANCELLED: {
        // COMPLETED means exit status 0, so a COMPLETED report with another status is a failure.
        const contradicts = report.state === TaskState.TASK_STATE_COMPLETED && report.exitCode !== 0;
        const error = contradicts ? `reported completed with exit code ${report.exitCode}` : report.error;
        this.endAttempt(task, {
          state: contradicts ? TaskState.TASK_STATE_FAILED : report.state,
          exitCode: report.exitCode,
          error: error.slice(0, MAX_REPORT_TEXT),
          outputTail: report.outputTail.slice(-MAX_REPORT_TEXT),
          retryable: contradicts || report.state !== TaskState.TASK_STATE_COMPLETED,
        });
        return true;
      }
      default:
        this.staleWarnings.warn(`state:${machineId}`, { taskId: task.id, state: report.state, machineId }, 'ignored report with an unexpected state');
        return false;
    }
  }

  /**
   * Ends the current attempt: releases its allocation exactly and then
   * finishes the task, queues it again after a backoff, or cancels it.
   */
  private endAttempt(task: TaskRecord, outcome: AttemptOutcome): void {
    const previous = task.state;
    this.scheduler.release(task.id);
    this.fleet.activeOn(task.machineId).delete(task.id);
    const now = new Date();
    const attempt = task.attempts.at(-1);
    if (attempt) {
      attempt.state = outcome.state;
      attempt.finishedTime = now;
      attempt.exitCode = outcome.exitCode;
      attempt.error = outcome.error;
    }
    task.exitCode = outcome.exitCode;
    task.error = outcome.error;
    if (outcome.outputTail !== undefined) task.outputTail = outcome.outputTail;
    const logFields = { taskId: task.id, attempt: task.attempt, machineId: task.machineId, exitCode: outcome.exitCode };

    if (outcome.state === TaskState.TASK_STATE_COMPLETED) {
      this.finish(task, TaskState.TASK_STATE_COMPLETED, '', previous);
      this.log.info(logFields, 'task completed');
    } else if (task.cancelRequested) {
      this.finish(task, TaskState.TASK_STATE_CANCELLED, 'cancelled by a client', previous);
      this.log.info(logFields, 'task cancelled');
    } else if (outcome.retryable && task.attempt < maxAttempts(task.spec)) {
      const waitMs = backoffMs(task.spec, task.attempt);
      task.state = TaskState.TASK_STATE_QUEUED;
      task.reason = `attempt ${task.attempt} ended: ${outcome.error || 'failed'}; attempt ${task.attempt + 1} after ${waitMs} ms`;
      task.retryAtMs = Date.now() + waitMs;
      this.backoff.add(task.id);
      this.store.saveTask(task);
      this.emit('task', task, previous);
      this.log.warn({ ...logFields, error: outcome.error, retryInMs: waitMs }, 'attempt failed, will retry');
    } else {
      this.finish(task, TaskState.TASK_STATE_FAILED, outcome.error || 'failed', previous);
      this.log.warn({ ...logFields, error: outcome.error }, 'task failed');
    }
    this.requestPass();
  }

  private finish(task: TaskRecord, state: TaskState, reason: string, previous = task.state): void {
    task.state = state;
    task.reason = reason;
    task.finishTime = new Date();
    task.retryAtMs = 0;
    this.store.saveTask(task);
    this.emit('task', task, previous);
  }

  // ---- Machines and links ------------------------------------------------

  /** Declares a machine by API; it stays OFFLINE until its agent connects. */
  async registerMachine(id: string, capacity: MachineCapacity, labels: Record<string, string>): Promise<MachineRecord> {
    if (this.fleet.machines.has(id)) throw alreadyExists(`machine "${id}" already exists`);
    const machine = this.fleet.add(id, capacity, labels, true);
    await this.store.flush();
    return machine;
  }

  /**
   * Attaches an agent's stream to its machine and reconciles what the agent
   * runs with what the server assigned there. Attempts both sides agree on
   * are adopted. Assigned attempts the agent lacks end as lost. Attempts the
   * agent runs that are not current get a CancelTask.
   */
  attachLink(machineId: string, link: AgentLink, running: RunningAttempt[]): RunningAttempt[] {
    this.fleet.attach(machineId, link);
    const reported = new Map(running.map((r) => [r.taskId, r.attempt]));
    const adopted: RunningAttempt[] = [];
    for (const taskId of [...this.fleet.activeOn(machineId)]) {
      const task = this.tasks.get(taskId);
      if (!task) continue;
      if (reported.get(taskId) === task.attempt) {
        adopted.push({ taskId, attempt: task.attempt });
        reported.delete(taskId);
        if (task.cancelRequested) this.sendCancel(task, CancelReason.CANCEL_REASON_CLIENT);
      } else {
        this.endAttempt(task, lostOutcome('the agent reconnected without this attempt'));
      }
    }
    for (const [taskId, attempt] of reported) {
      link.sendControl(cancelMessage(taskId, attempt, this.options.cancelGraceMs, CancelReason.CANCEL_REASON_STALE_ATTEMPT));
    }
    return adopted;
  }

  /**
   * Checks the attempts an agent reports running against the server's view
   * and sends a CancelTask for those that are not current on its machine, such as a
   * copy that was placed again elsewhere while the agent was away.
   */
  reconcileRunning(machineId: string, running: RunningAttempt[]): void {
    for (const { taskId, attempt } of running) {
      const task = this.tasks.get(taskId);
      const current =
        task !== undefined &&
        task.machineId === machineId &&
        task.attempt === attempt &&
        (task.state === TaskState.TASK_STATE_ASSIGNED || task.state === TaskState.TASK_STATE_RUNNING);
      if (current) continue;
      this.staleWarnings.warn(`running:${machineId}`, { taskId, attempt, machineId }, 'agent runs a stale attempt; sending a cancel');
      this.cancelStale(machineId, taskId, attempt);
    }
  }

  /** Ends every attempt on a lost machine; each is queued again or failed. */
  machineLost(machineId: string, reason: string): void {
    this.fleet.setStatus(machineId, MachineStatus.MACHINE_STATUS_LOST, reason);
    for (const taskId of [...this.fleet.activeOn(machineId)]) {
      const task = this.tasks.get(taskId);
      if (task) this.endAttempt(task, lostOutcome(`machine ${machineId} lost: ${reason}`));
    }
  }

  /** Removes a machine: its attempts end as lost and its agent's stream is closed. */
  async removeMachine(id: string): Promise<string[]> {
    this.fleet.get(id);
    const taskIds = [...this.fleet.activeOn(id)];
    for (const taskId of taskIds) {
      const task = this.tasks.get(taskId);
      if (!task) continue;
      this.sendCancel(task, CancelReason.CANCEL_REASON_MACHINE_REMOVED);
      this.endAttempt(task, lostOutcome(`machine ${id} removed`));
    }
    this.fleet.delete(id, `machine "${id}" was removed`);
    this.log.info({ machineId: id, taskIds }, 'machine removed');
    await this.store.flush();
    return taskIds;
  }

  /**
   * Replaces the capacity and labels of a machine its agent created, when the
   * agent registers again with other values. With tasks on the machine the
   * old capacity stays, because shrinking under them could over-commit it.
   */
  updateCapacity(machine: MachineRecord, capacity: MachineCapacity, labels: Record<string, string>): void {
    const same = Buffer.from(MachineCapacity.encode(capacity).finish()).equals(MachineCapacity.encode(machine.capacity).finish());
    const sameLabels = JSON.stringify(labels) === JSON.stringify(machine.labels);
    if (same && sameLabels) return;
    if (this.fleet.activeOn(machine.id).size > 0) {
      this.log.warn({ machineId: machine.id }, 'agent declared a new capacity while tasks run there; keeping the old one');
      return;
    }
    this.fleet.replaceSpec(machine, capacity, labels);
    this.log.info({ machineId: machine.id, cpuMilli: capacity.cpuMilli, gpus: capacity.gpus.length }, 'machine capacity updated');
  }

  /**
   * Tells an agent to stop an attempt that is not current. Heartbeats repeat
   * the attempt until it stops, so one cancel per attempt is sent at most
   * every STALE_CANCEL_INTERVAL_MS; an agent listing many unknown attempts
   * cannot make the server queue a cancel for each on every heartbeat.
   */
  private cancelStale(machineId: string, taskId: string, attempt: number): void {
    const key = `${machineId}\u0000${taskId}\u0000${attempt}`;
    const now = Date.now();
    const last = this.staleCancels.get(key);
    if (last !== undefined && now - last < STALE_CANCEL_INTERVAL_MS) return;
    if (this.staleCancels.size >= MAX_STALE_CANCELS) this.staleCancels.clear();
    this.staleCancels.set(key, now);
    this.fleet.send(machineId, cancelMessage(taskId, attempt, this.options.cancelGraceMs, CancelReason.CANCEL_REASON_STALE_ATTEMPT));
  }

  /** Forgets a finished drain once the machine's agent has left. */
  endDrain(machineId: string): void {
    const machine = this.fleet.machines.get(machineId);
    if (!machine || machine.drainDeadlineSeconds === 0) return;
    machine.drainDeadlineSeconds = 0;
    this.store.saveMachine(machine);
  }

  /** Asks a machine's agent to drain; no new tasks go there from now on. */
  async drainMachine(id: string, deadlineSeconds: number): Promise<MachineRecord> {
    const machine = this.fleet.get(id);
    if (!this.fleet.hasLink(id)) throw failedPrecondition(`machine "${id}" has no connected agent to drain (status ${MachineStatus[machine.status]})`);
    machine.drainDeadlineSeconds = deadlineSeconds;
    this.fleet.setStatus(id, MachineStatus.MACHINE_STATUS_DRAINING, `drain requested, deadline ${deadlineSeconds}s`);
    this.fleet.send(id, { kind: { $case: 'drainRequested', drainRequested: { deadline: { seconds: deadlineSeconds, nanos: 0 } } } });
    this.log.info({ machineId: id, deadlineSeconds }, 'drain requested');
    await this.store.flush();
    return machine;
  }
}

function lostOutcome(error: string): AttemptOutcome {
  return { state: TaskState.TASK_STATE_FAILED, exitCode: -1, error, retryable: true };
}

function cancelMessage(taskId: string, attempt: number, graceMs: number, reason: CancelReason): ConnectResponse {
  return { kind: { $case: 'cancelTask', cancelTask: { taskId, attempt, gracePeriod: msToDuration(graceMs), reason } } };
}
