import { devicesNeeded, toDemand, type Demand } from './Demand.ts';
import { explainWait } from './explainWait.ts';
import { FragmentationModel } from './FragmentationModel.ts';
import { MachineClass } from './MachineClass.ts';
import { MachineState } from './MachineState.ts';
import { classCanHold } from './planPlacement.ts';
import { chooseReservation } from './chooseReservation.ts';
import { planOnMachine, Reservation } from './Reservation.ts';
import { SchedulerError } from './SchedulerError.ts';
import { ShapeRegistry } from './ShapeRegistry.ts';
import { StateIndex } from './StateIndex.ts';
import { TaskQueue, type QueuedTask } from './TaskQueue.ts';
import type {
  MachineAllocation,
  MachineSpec,
  Placement,
  PolicyName,
  SchedulerOptions,
  SchedulerStats,
  TaskDemand,
} from './types.ts';
import { validateDemand } from './validateDemand.ts';
import { validateMachineSpec } from './validateMachineSpec.ts';

/**
 * Places queued tasks on machines. Pure and synchronous: the server feeds it
 * fleet and task events and applies the placements `schedule()` returns,
 * which are already allocated here.
 *
 * Placement cost follows the number of distinct machine states, not
 * machines: `StateIndex` groups interchangeable machines and each task shape
 * keeps a heap of scored groups (`ShapeIndex`).
 */
export class Scheduler {
  private readonly defaultPolicy: PolicyName;
  private readonly reserveAfterMs: number;
  private readonly maxReservations: number;
  private readonly now: () => number;

  private readonly classes = new Map<string, MachineClass>();
  private readonly machines = new Map<string, MachineState>();
  private readonly index = new StateIndex();
  private readonly queue = new TaskQueue();
  private readonly shapes = new ShapeRegistry();
  private readonly placedOn = new Map<string, MachineState>();
  private readonly reservationsByTask = new Map<string, Reservation>();
  private readonly reservationsByMachine = new Map<MachineState, Reservation>();
  private readonly fragmentation = new FragmentationModel();

  /**
   * Incremented whenever capacity may have grown (release, new machine,
   * machine made schedulable, reservation dropped). A shape that found no
   * machine at epoch E cannot find one until the epoch changes, so later
   * tasks of that shape are skipped in O(1).
   */
  private epoch = 0;

  private schedulableMachines = 0;
  private cpuMilliCapacity = 0;
  private memoryMibCapacity = 0;
  private gpuMilliCapacity = 0;
  private cpuMilliAllocated = 0;
  private memoryMibAllocated = 0;
  private gpuMilliAllocated = 0;

  constructor(options: SchedulerOptions = {}) {
    this.defaultPolicy = options.defaultPolicy ?? 'fgd';
    this.reserveAfterMs = options.reserveAfterMs ?? 30_000;
    this.maxReservations = options.maxReservations ?? 64;
    this.now = options.now ?? Date.now;
    if (!['binpack', 'spread', 'fgd'].includes(this.defaultPolicy)) {
      throw new SchedulerError(`defaultPolicy must be binpack, spread or fgd, got ${JSON.stringify(this.defaultPolicy)}`);
    }
  }

  /** Adds a machine with nothing allocated; throws SchedulerError if the id exists or the spec is invalid. */
  addMachine(spec: MachineSpec): void {
    const problem = validateMachineSpec(spec);
    if (problem !== undefined) throw new SchedulerError(problem);
    if (this.machines.has(spec.id)) throw new SchedulerError(`machine ${spec.id} already exists`, 'already_exists');

    const classKey = MachineClass.keyOf(spec);
    let machineClass = this.classes.get(classKey);
    if (machineClass === undefined) {
      machineClass = new MachineClass(this.classes.size, classKey, spec);
      this.classes.set(classKey, machineClass);
    }
    machineClass.machineCount++;
    const machine = new MachineState(spec.id, machineClass);
    this.machines.set(spec.id, machine);
    this.schedulableMachines++;
    this.cpuMilliCapacity += machineClass.cpuMilli;
    this.memoryMibCapacity += machineClass.memoryMib;
    this.gpuMilliCapacity += 1000 * machineClass.gpuCount;
    this.index.insert(machine);
    this.epoch++;
  }

  /** Drops a machine and returns the ids of tasks placed there; their allocations are gone. */
  removeMachine(machineId: string): string[] {
    const machine = this.requireMachine(machineId);
    const reservation = this.reservationsByMachine.get(machine);
    if (reservation !== undefined) this.dropReservation(reservation);
    machine.removed = true;
    if (machine.schedulable) this.schedulableMachines--;
    this.index.remove(machine);

    const taskIds = [...machine.allocations.keys()];
    for (const taskId of taskIds) {
      const allocation = machine.free(taskId);
      if (allocation !== undefined) this.countFreed(allocation.demand, allocation.gpuIndices.length * allocation.gpuMilli);
      this.placedOn.delete(taskId);
    }

    const machineClass = machine.machineClass;
    machineClass.machineCount--;
    this.cpuMilliCapacity -= machineClass.cpuMilli;
    this.memoryMibCapacity -= machineClass.memoryMib;
    this.gpuMilliCapacity -= 1000 * machineClass.gpuCount;
    this.machines.delete(machineId);
    return taskIds;
  }

  /** Stops (false) or resumes (true) new placements on a machine; its allocations stay either way. */
  setSchedulable(machineId: string, schedulable: boolean): void {
    const machine = this.requireMachine(machineId);
    if (machine.schedulable === schedulable) return;
    machine.schedulable = schedulable;
    this.schedulableMachines += schedulable ? 1 : -1;
    if (!schedulable) {
      // A reservation on a machine that takes no new tasks would wait forever; the task reserves again elsewhere.
      const reservation = this.reservationsByMachine.get(machine);
      if (reservation !== undefined) this.dropReservation(reservation);
    }
    this.reindex(machine);
    if (schedulable) this.epoch++;
  }

  /** Queues a task; throws SchedulerError if the demand is invalid or the id is queued or placed. */
  enqueue(task: TaskDemand): void {
    const problem = validateDemand(task);
    if (problem !== undefined) throw new SchedulerError(problem);
    if (this.queue.get(task.id) !== undefined) throw new SchedulerError(`task ${task.id} is already queued`, 'already_exists');
    if (this.placedOn.has(task.id)) throw new SchedulerError(`task ${task.id} is already placed`, 'already_exists');

    const demand = toDemand(task, this.defaultPolicy);
    this.fragmentation.observe(demand);
    this.queue.add({ demand, shape: this.shapes.acquire(demand), enqueuedAt: this.now(), attempted: false, removed: false });
  }

  /** Removes a queued task (cancel) and its reservation; false if it is not queued. */
  dequeue(taskId: string): boolean {
    const queued = this.queue.remove(taskId);
    if (queued === undefined) return false;
    this.shapes.release(queued.shape);
    const reservation = this.reservationsByTask.get(taskId);
    if (reservation !== undefined) this.dropReservation(reservation);
    return true;
  }

  /** Frees exactly what a placed task holds; false if it is not placed. */
  release(taskId: string): boolean {
    const machine = this.placedOn.get(taskId);
    if (machine === undefined) return false;
    const allocation = machine.free(taskId);
    this.placedOn.delete(taskId);
    if (allocation !== undefined) this.countFreed(allocation.demand, allocation.gpuIndices.length * allocation.gpuMilli);
    this.reservationsByMachine.get(machine)?.forget(taskId);
    this.reindex(machine);
    this.epoch++;
    return true;
  }

  /**
   * Records an allocation that already exists (server restart, agent
   * reconnect). A queued task of that id leaves the queue. Returns false when
   * the allocation does not fit the machine's free resources or does not
   * match the demand (whole devices need `gpuMilli` 1000 and `gpuCount`
   * indices, a share needs one index and the demanded share). Labels and GPU
   * models are not checked, because the task already runs there.
   */
  adopt(task: TaskDemand, machineId: string, gpuIndices: number[], gpuMilli: number): boolean {
    const problem = validateDemand(task);
    if (problem !== undefined) throw new SchedulerError(problem);
    const machine = this.requireMachine(machineId);
    if (this.placedOn.has(task.id)) throw new SchedulerError(`task ${task.id} is already placed`, 'already_exists');

    const demand = toDemand(task, this.defaultPolicy);
    const expectedDevices = devicesNeeded(demand);
    const expectedShare = demand.gpuCount > 0 ? 1000 : demand.gpuMilli;
    if (gpuIndices.length !== expectedDevices || (expectedDevices > 0 && gpuMilli !== expectedShare)) return false;
    if (expectedDevices === 0 && gpuMilli !== 0) return false;
    if (!machine.canAllocate(demand, gpuIndices, gpuMilli)) return false;

    const queued = this.queue.remove(task.id);
    if (queued !== undefined) this.shapes.release(queued.shape);
    const reservation = this.reservationsByTask.get(task.id);
    if (reservation !== undefined) this.dropReservation(reservation);
    this.allocateOn(machine, demand, gpuIndices, gpuMilli);
    return true;
  }

  /**
   * Runs one pass over the queue in priority order and returns the
   * placements made, at most `maxPlacements`. A task that does not fit is
   * skipped, so it never blocks smaller tasks behind it. Once it has waited
   * `reserveAfterMs`, it reserves a machine (see `Reservation`).
   */
  schedule(maxPlacements = Number.POSITIVE_INFINITY): Placement[] {
    this.fragmentation.refreshIfStale();
    const now = this.now();
    const placements: Placement[] = [];

    this.queue.forEachInOrder((queued) => {
      if (placements.length >= maxPlacements) return false;
      queued.attempted = true;
      const placement = this.tryPlace(queued);
      if (placement !== undefined) {
        placements.push(placement);
        return true;
      }
      const starving = now - queued.enqueuedAt >= this.reserveAfterMs;
      if (starving && !this.reservationsByTask.has(queued.demand.taskId) && this.reservationsByTask.size < this.maxReservations) {
        this.tryReserve(queued, now);
      }
      return true;
    });
    return placements;
  }

  /** Returns why a queued task waits, in words an operator can act on; undefined if it is not queued. */
  queueReason(taskId: string): string | undefined {
    const queued = this.queue.get(taskId);
    if (queued === undefined) return undefined;
    if (!queued.attempted) return 'waiting for the next scheduling pass';
    return explainWait({
      demand: queued.demand,
      classes: this.classes.values(),
      groups: this.index.liveGroups(),
      reservations: this.reservationsByMachine.values(),
      ownReservation: this.reservationsByTask.get(taskId),
      schedulableMachines: this.schedulableMachines,
    });
  }

  isQueued(taskId: string): boolean {
    return this.queue.get(taskId) !== undefined;
  }

  /** Returns what is allocated on a machine, per device index for GPUs; undefined for an unknown id. */
  machineAllocation(machineId: string): MachineAllocation | undefined {
    const machine = this.machines.get(machineId);
    if (machine === undefined) return undefined;
    return {
      cpuMilli: machine.machineClass.cpuMilli - machine.freeCpuMilli,
      memoryMib: machine.machineClass.memoryMib - machine.freeMemoryMib,
      gpuMilli: [...machine.gpuUsedMilli],
      gpuMemoryMib: [...machine.gpuUsedMemoryMib],
    };
  }

  stats(): SchedulerStats {
    return {
      machines: this.machines.size,
      schedulableMachines: this.schedulableMachines,
      reservedMachines: this.reservationsByMachine.size,
      queued: this.queue.size,
      placed: this.placedOn.size,
      cpuMilliAllocated: this.cpuMilliAllocated,
      cpuMilliCapacity: this.cpuMilliCapacity,
      memoryMibAllocated: this.memoryMibAllocated,
      memoryMibCapacity: this.memoryMibCapacity,
      gpuMilliAllocated: this.gpuMilliAllocated,
      gpuMilliCapacity: this.gpuMilliCapacity,
      stateGroups: this.index.groupCount,
    };
  }

  private tryPlace(queued: QueuedTask): Placement | undefined {
    const demand = queued.demand;
    const own = this.reservationsByTask.get(demand.taskId);
    if (own !== undefined) {
      const devices = planOnMachine(demand, own.machine);
      if (devices !== undefined) {
        this.dropReservation(own);
        return this.placeQueued(queued, own.machine, devices);
      }
    } else if (queued.shape.failedEpoch === this.epoch) {
      return undefined;
    }

    const candidate = queued.shape.best(this.index, this.fragmentation);
    if (candidate !== undefined) {
      const machine = candidate.group.firstMember()!;
      const devices = candidate.group.deviceIndicesOn(machine, candidate.positions);
      if (own !== undefined) this.dropReservation(own);
      return this.placeQueued(queued, machine, devices);
    }

    for (const reservation of this.reservationsByMachine.values()) {
      if (reservation === own || !reservation.machine.schedulable) continue;
      if (!classCanHold(demand, reservation.machine.machineClass)) continue;
      const devices = planOnMachine(demand, reservation.machine, reservation.gpuIndices);
      if (devices === undefined || !reservation.admits(demand, devices)) continue;
      reservation.admit(demand);
      return this.placeQueued(queued, reservation.machine, devices);
    }

    if (own === undefined) queued.shape.failedEpoch = this.epoch;
    return undefined;
  }

  private tryReserve(queued: QueuedTask, now: number): void {
    const shape = queued.shape;
    if (shape.reservationSearchFailedEpoch === this.epoch) return;
    const choice = chooseReservation(queued.demand, this.index.liveGroups());
    if (choice === undefined) {
      shape.reservationSearchFailedEpoch = this.epoch;
      return;
    }
    const reservation = new Reservation(queued.demand, choice.machine, choice.gpuIndices, now);
    this.reservationsByTask.set(queued.demand.taskId, reservation);
    this.reservationsByMachine.set(choice.machine, reservation);
    choice.machine.reserved = true;
    this.reindex(choice.machine);
  }

  private dropReservation(reservation: Reservation): void {
    this.reservationsByTask.delete(reservation.demand.taskId);
    this.reservationsByMachine.delete(reservation.machine);
    reservation.machine.reserved = false;
    this.reindex(reservation.machine);
    this.epoch++;
  }

  private placeQueued(queued: QueuedTask, machine: MachineState, gpuIndices: number[]): Placement {
    const demand = queued.demand;
    this.queue.remove(demand.taskId);
    this.shapes.release(queued.shape);
    const gpuMilli = demand.gpuCount > 0 ? 1000 : demand.gpuMilli;
    this.allocateOn(machine, demand, gpuIndices, gpuMilli);
    // `gpuIndices` is a fresh array from the planner, so the placement may own it.
    return { taskId: demand.taskId, machineId: machine.id, gpuIndices: gpuIndices.sort((a, b) => a - b), gpuMilli };
  }

  private allocateOn(machine: MachineState, demand: Demand, gpuIndices: readonly number[], gpuMilli: number): void {
    machine.allocate(demand, gpuIndices, gpuMilli);
    this.placedOn.set(demand.taskId, machine);
    this.cpuMilliAllocated += demand.cpuMilli;
    this.memoryMibAllocated += demand.memoryMib;
    this.gpuMilliAllocated += gpuIndices.length * gpuMilli;
    this.reindex(machine);
  }

  private countFreed(demand: Demand, gpuMilli: number): void {
    this.cpuMilliAllocated -= demand.cpuMilli;
    this.memoryMibAllocated -= demand.memoryMib;
    this.gpuMilliAllocated -= gpuMilli;
  }

  /** Puts a machine in the index iff it is schedulable and unreserved, under its current state. */
  private reindex(machine: MachineState): void {
    this.index.remove(machine);
    if (machine.schedulable && !machine.reserved && !machine.removed) this.index.insert(machine);
  }

  private requireMachine(machineId: string): MachineState {
    const machine = this.machines.get(machineId);
    if (machine === undefined) throw new SchedulerError(`machine ${machineId} not found`, 'not_found');
    return machine;
  }
}
