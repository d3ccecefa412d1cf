import {
  CancelTaskResponse,
  GetTaskResponse,
  SubmitTasksResponse,
  Task,
  TaskState,
} from '../../gen/machinehub/task/v1/task.js';
import { buildTaskSpec } from '../buildTaskSpec.js';
import type { Command } from '../Command.js';
import { formatTaskState } from '../formatNames.js';
import { formatTable } from '../formatTable.js';
import { formatTaskDetails, formatTaskRow, formatTaskStateWithCancel, TASK_TABLE_HEADERS } from '../formatTask.js';
import { rejectExtraPositionals, requiredPositional, stringOption } from '../optionValues.js';
import { parseTaskState } from '../parseEnums.js';

/** Page size of ListTasks requests; the proto allows 1 to 10000. */
const LIST_PAGE_SIZE = 1000;

const submit: Command = {
  name: 'tasks submit',
  summary: 'submit a task that runs a command',
  help: `Usage: machinehub tasks submit [options] -- COMMAND [ARGS...]

Submits one task and prints its id, state and reason (--json for scripts). The command is run without a shell, found
in the agent's PATH.

Resources:
  --cpus N              CPU cores, up to 3 decimals (0.5 = 500 millicores); required
  --memory-mib N        memory in MiB (8 GiB = 8192)
  --gpus N              whole GPU devices, 0 to 64
  --gpu-milli N         a share of one GPU in thousandths, 1 to 1000 (not with --gpus)
  --gpu-memory-mib N    free GPU memory needed on each device, MiB
  --gpu-model M         accepted GPU model, such as A100; repeat for several

Placement and retries:
  --priority P          higher runs first, any 32-bit integer (default 0)
  --constraint C        machine label rule: 'key=value', 'key!=value', 'key in a,b',
                        'key notin a,b', 'key exists' or 'key notexists'; repeatable
  --policy P            binpack, spread or fgd (default: the server's)
  --max-attempts N      attempts in all, 1 to 100 (default 3)
  --timeout S           max run time of one attempt, seconds (default: no limit)

Task:
  --id ID               client-chosen id; resubmitting the same spec returns the same task
  --name NAME           human-readable name
  --env KEY=VALUE       environment variable for the command; repeatable
  --stdin-file FILE     send the file's bytes to the command's standard input ('-' reads stdin)`,
  options: {
    cpus: { type: 'string' },
    'memory-mib': { type: 'string' },
    gpus: { type: 'string' },
    'gpu-milli': { type: 'string' },
    'gpu-memory-mib': { type: 'string' },
    'gpu-model': { type: 'string', multiple: true },
    priority: { type: 'string' },
    env: { type: 'string', multiple: true },
    constraint: { type: 'string', multiple: true },
    policy: { type: 'string' },
    'max-attempts': { type: 'string' },
    timeout: { type: 'string' },
    id: { type: 'string' },
    name: { type: 'string' },
    'stdin-file': { type: 'string' },
  },
  async run(context, values, positionals) {
    const spec = await buildTaskSpec(values, positionals);
    const response = await context.client().tasks.submitTasks({ tasks: [spec] }, context.requestOptions());
    if (context.json) {
      context.print(JSON.stringify(SubmitTasksResponse.toJSON(response), null, 2));
      return;
    }
    for (const task of response.tasks) {
      context.print(`${task.id}  ${formatTaskStateWithCancel(task)}${task.reason === '' ? '' : `  ${task.reason}`}`);
    }
  },
};

const list: Command = {
  name: 'tasks list',
  summary: 'list tasks, optionally of one state',
  help: `Usage: machinehub tasks list [--state STATE]

Lists tasks in submission order.

  --state STATE   only tasks in this state: queued, assigned, running,
                  completed, failed or cancelled`,
  options: { state: { type: 'string' } },
  async run(context, values, positionals) {
    rejectExtraPositionals(positionals, 0);
    const stateText = stringOption(values, 'state');
    const state = stateText === undefined ? TaskState.TASK_STATE_UNSPECIFIED : parseTaskState('state', stateText);

    const tasks: Task[] = [];
    let pageToken = '';
    do {
      const page = await context.client().tasks.listTasks({ state, pageSize: LIST_PAGE_SIZE, pageToken }, context.requestOptions());
      tasks.push(...page.tasks);
      pageToken = page.nextPageToken;
    } while (pageToken !== '');

    if (context.json) {
      // An explicit array, even when empty, so scripts can iterate without a null check.
      context.print(JSON.stringify({ tasks: tasks.map((task) => Task.toJSON(task)) }, null, 2));
      return;
    }
    if (tasks.length === 0) {
      context.print(state === TaskState.TASK_STATE_UNSPECIFIED ? 'no tasks' : `no ${formatTaskState(state)} tasks`);
      return;
    }
    context.print(formatTable(TASK_TABLE_HEADERS, tasks.map(formatTaskRow)));
  },
};

const get: Command = {
  name: 'tasks get',
  summary: 'show one task with its attempts and the reason for its state',
  help: `Usage: machinehub tasks get TASK_ID

Shows a task's spec, state, reason, attempts history and output tail.`,
  options: {},
  async run(context, _values, positionals) {
    const id = requiredPositional(positionals, 0, 'TASK_ID');
    rejectExtraPositionals(positionals, 1);
    const response = await context.client().tasks.getTask({ id }, context.requestOptions());
    if (context.json) {
      context.print(JSON.stringify(GetTaskResponse.toJSON(response), null, 2));
      return;
    }
    if (response.task !== undefined) {
      context.print(formatTaskDetails(response.task));
    }
  },
};

const cancel: Command = {
  name: 'tasks cancel',
  summary: 'cancel a task',
  help: `Usage: machinehub tasks cancel TASK_ID

Cancels a task. A queued task is cancelled at once. For an assigned or running
task, the agent stops its process group and then confirms. Cancelling a
finished task changes nothing.`,
  options: {},
  async run(context, _values, positionals) {
    const id = requiredPositional(positionals, 0, 'TASK_ID');
    rejectExtraPositionals(positionals, 1);
    const response = await context.client().tasks.cancelTask({ id }, context.requestOptions());
    if (context.json) {
      context.print(JSON.stringify(CancelTaskResponse.toJSON(response), null, 2));
      return;
    }
    if (response.task !== undefined) {
      context.print(`${response.task.id}  ${formatTaskStateWithCancel(response.task)}`);
    }
  },
};

/** The task commands except watch. */
export const TASKS_COMMANDS: Command[] = [submit, list, get, cancel];
