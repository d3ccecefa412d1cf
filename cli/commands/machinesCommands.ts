import {
  DrainMachineResponse,
  GetMachineResponse,
  Machine,
  RegisterMachineResponse,
  RemoveMachineResponse,
} from '../../gen/machinehub/machine/v1/machine.js';
import { buildMachineCapacity, CAPACITY_HELP, CAPACITY_OPTIONS } from '../buildMachineCapacity.js';
import type { Command } from '../Command.js';
import { formatMachineStatus } from '../formatNames.js';
import { formatMachineDetails, formatMachineRow, MACHINE_TABLE_HEADERS } from '../formatMachine.js';
import { formatTable } from '../formatTable.js';
import { rejectExtraPositionals, requiredPositional, stringListOption, stringOption } from '../optionValues.js';
import { parseMachineStatus } from '../parseEnums.js';
import { parseKeyValues } from '../parseKeyValue.js';
import { parseWholeNumber } from '../parseQuantities.js';

/** Page size of ListMachines requests; the proto allows 1 to 10000. */
const LIST_PAGE_SIZE = 1000;
/** Largest drain deadline, the int32 limit of DrainMachineRequest.deadline_seconds. */
const MAX_DEADLINE_SECONDS = 2_147_483_647;

const list: Command = {
  name: 'machines list',
  summary: 'list machines with their allocated and total resources',
  help: `Usage: machinehub machines list [--status STATUS]

Lists machines ordered by id. CPU, MEMORY and GPU show allocated/capacity.

  --status STATUS   only machines in this status: ready, disconnected,
                    draining, lost or offline; repeatable`,
  options: { status: { type: 'string', multiple: true } },
  async run(context, values, positionals) {
    rejectExtraPositionals(positionals, 0);
    const statuses = stringListOption(values, 'status').map((text) => parseMachineStatus('status', text));

    const machines: Machine[] = [];
    let pageToken = '';
    do {
      const page = await context.client().machines.listMachines({ statuses, pageSize: LIST_PAGE_SIZE, pageToken }, context.requestOptions());
      machines.push(...page.machines);
      pageToken = page.nextPageToken;
    } while (pageToken !== '');

    if (context.json) {
      // An explicit array, even when empty, so scripts can iterate without a null check.
      context.print(JSON.stringify({ machines: machines.map((machine) => Machine.toJSON(machine)) }, null, 2));
      return;
    }
    if (machines.length === 0) {
      context.print(statuses.length === 0 ? 'no machines' : `no ${statuses.map(formatMachineStatus).join(' or ')} machines`);
      return;
    }
    context.print(formatTable(MACHINE_TABLE_HEADERS, machines.map(formatMachineRow)));
  },
};

const get: Command = {
  name: 'machines get',
  summary: 'show one machine and its GPU devices',
  help: `Usage: machinehub machines get MACHINE_ID`,
  options: {},
  async run(context, _values, positionals) {
    const id = requiredPositional(positionals, 0, 'MACHINE_ID');
    rejectExtraPositionals(positionals, 1);
    const response = await context.client().machines.getMachine({ id }, context.requestOptions());
    if (context.json) {
      context.print(JSON.stringify(GetMachineResponse.toJSON(response), null, 2));
      return;
    }
    if (response.machine !== undefined) {
      context.print(formatMachineDetails(response.machine));
    }
  },
};

const drain: Command = {
  name: 'machines drain',
  summary: 'stop placing tasks on a machine and let its tasks finish',
  help: `Usage: machinehub machines drain MACHINE_ID [--deadline SECONDS]

No new tasks are placed on the machine. Running tasks may finish until the
deadline; then the agent cancels them and leaves.

  --deadline S   whole seconds running tasks may take (default: the server's, 300)`,
  options: { deadline: { type: 'string' } },
  async run(context, values, positionals) {
    const id = requiredPositional(positionals, 0, 'MACHINE_ID');
    rejectExtraPositionals(positionals, 1);
    const deadline = stringOption(values, 'deadline');
    const deadlineSeconds = deadline === undefined ? 0 : parseWholeNumber('deadline', deadline, 'seconds', 1, MAX_DEADLINE_SECONDS);

    const response = await context.client().machines.drainMachine({ id, deadlineSeconds }, context.requestOptions());
    if (context.json) {
      context.print(JSON.stringify(DrainMachineResponse.toJSON(response), null, 2));
      return;
    }
    context.print(`${id}  ${formatMachineStatus(response.machine?.status ?? 0)}`);
  },
};

const register: Command = {
  name: 'machines register',
  summary: 'declare a machine before its agent connects',
  help: `Usage: machinehub machines register MACHINE_ID --cpus N --memory-mib N [options]

Declares a machine. It stays offline until an agent registers with this
machine id, and then keeps the capacity declared here.

${CAPACITY_HELP}
  --label KEY=VALUE     machine label for placement constraints; repeatable`,
  options: { ...CAPACITY_OPTIONS, label: { type: 'string', multiple: true } },
  async run(context, values, positionals) {
    const id = requiredPositional(positionals, 0, 'MACHINE_ID');
    rejectExtraPositionals(positionals, 1);
    const response = await context.client().machines.registerMachine({
      id,
      capacity: buildMachineCapacity(values),
      labels: parseKeyValues('label', stringListOption(values, 'label')),
    }, context.requestOptions());
    if (context.json) {
      context.print(JSON.stringify(RegisterMachineResponse.toJSON(response), null, 2));
      return;
    }
    context.print(`${id}  ${formatMachineStatus(response.machine?.status ?? 0)}`);
  },
};

const remove: Command = {
  name: 'machines remove',
  summary: 'remove a machine; its tasks are queued again or failed',
  help: `Usage: machinehub machines remove MACHINE_ID

Removes a machine. Its tasks are queued again (or failed when out of
attempts), and its agent, if connected, is told to stop them.`,
  options: {},
  async run(context, _values, positionals) {
    const id = requiredPositional(positionals, 0, 'MACHINE_ID');
    rejectExtraPositionals(positionals, 1);
    const response = await context.client().machines.removeMachine({ id }, context.requestOptions());
    if (context.json) {
      context.print(JSON.stringify(RemoveMachineResponse.toJSON(response), null, 2));
      return;
    }
    const requeued = response.requeuedTaskIds;
    context.print(requeued.length === 0 ? `${id}  removed` : `${id}  removed; tasks queued again or failed: ${requeued.join(', ')}`);
  },
};

/** The machine commands. */
export const MACHINES_COMMANDS: Command[] = [list, get, register, drain, remove];
