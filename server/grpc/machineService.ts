import type { CallContext, ServiceImplementation } from 'nice-grpc';
import {
  MachineStatus,
  type MachineServiceDefinition,
  type WatchMachinesResponse,
} from '../../gen/machinehub/machine/v1/machine.js';
import type { ControlPlane } from '../control/ControlPlane.js';
import type { MachineRecord } from '../control/records.js';
import { validateMachine } from '../control/validateMachine.js';
import { invalidArgument } from '../errors.js';
import { eventStream } from './eventStream.js';
import { pageSize, toWireMachine } from './wire.js';

/** Drain deadline when DrainMachineRequest.deadline_seconds is 0. */
export const DEFAULT_DRAIN_DEADLINE_SECONDS = 300;
const MAX_DRAIN_DEADLINE_SECONDS = 7 * 24 * 3600;

/** MachineService handlers: thin adapters over the ControlPlane. */
export function machineService(plane: ControlPlane): ServiceImplementation<typeof MachineServiceDefinition> {
  return {
    async registerMachine(request) {
      const invalid = validateMachine('', request.id, request.capacity, request.labels);
      if (invalid) throw invalid;
      const machine = await plane.registerMachine(request.id, request.capacity!, request.labels);
      return { machine: toWireMachine(plane, machine) };
    },

    async removeMachine(request) {
      return { requeuedTaskIds: await plane.removeMachine(request.id) };
    },

    async getMachine(request) {
      return { machine: toWireMachine(plane, plane.fleet.get(request.id)) };
    },

    async listMachines(request) {
      if (request.pageSize < 0) throw invalidArgument(`page_size: ${request.pageSize} is negative`);
      for (const status of request.statuses) {
        if (!(status in MachineStatus) || status === MachineStatus.UNRECOGNIZED) {
          throw invalidArgument(`statuses: ${status} is not a known machine status`);
        }
      }
      const statuses = new Set(request.statuses);
      const limit = pageSize(request.pageSize);
      const sorted = [...plane.fleet.machines.values()]
        .filter((machine) => statuses.size === 0 || statuses.has(machine.status))
        .sort(compareIds);
      const start = request.pageToken === '' ? 0 : sorted.findIndex((machine) => machine.id > request.pageToken);
      const page = start < 0 ? [] : sorted.slice(start, start + limit);
      const more = start >= 0 && start + limit < sorted.length;
      return {
        machines: page.map((machine) => toWireMachine(plane, machine)),
        nextPageToken: more ? (page.at(-1)?.id ?? '') : '',
      };
    },

    async *watchMachines(request, context: CallContext) {
      const initial: WatchMachinesResponse[] = request.includeCurrent
        ? [...plane.fleet.machines.values()].map((machine) => ({ machine: toWireMachine(plane, machine), removed: false }))
        : [];
      yield* eventStream<WatchMachinesResponse>(
        plane,
        'machine',
        (machine: MachineRecord, removed: boolean) => ({ machine: toWireMachine(plane, machine), removed }),
        context.signal,
        initial,
      );
    },

    async drainMachine(request) {
      const deadline = request.deadlineSeconds || DEFAULT_DRAIN_DEADLINE_SECONDS;
      if (deadline < 0 || deadline > MAX_DRAIN_DEADLINE_SECONDS) {
        throw invalidArgument(`deadline_seconds: ${request.deadlineSeconds} is out of range 0 to ${MAX_DRAIN_DEADLINE_SECONDS}`);
      }
      return { machine: toWireMachine(plane, await plane.drainMachine(request.id, deadline)) };
    },
  };
}

/** Orders machines by id, by UTF-16 code units, which page tokens rely on. */
function compareIds(a: MachineRecord, b: MachineRecord): number {
  if (a.id < b.id) return -1;
  if (a.id > b.id) return 1;
  return 0;
}
