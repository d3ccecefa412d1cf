import type { AgentOptions } from '../../agent/index.js';
import type { Command, OptionValues } from '../Command.js';
import { CAPACITY_HELP, CAPACITY_OPTIONS, parseCapacityOptions } from '../buildMachineCapacity.js';
import { rejectExtraPositionals, stringListOption, stringOption } from '../optionValues.js';
import { parseKeyValues } from '../parseKeyValue.js';
import { UsageError } from '../UsageError.js';
import { LOG_LEVELS } from './serverCommand.js';

export const agentCommand: Command = {
  name: 'agent',
  summary: 'run an agent that serves this machine and runs its tasks',
  help: `Usage: machinehub agent --server ADDR [options]

Registers this machine with the server and runs the tasks assigned to it,
reconnecting when the link fails. SIGTERM drains: no new tasks, running
tasks may finish, then the agent leaves. SIGINT (Ctrl-C) stops the tasks
and exits at once; the server then places them again elsewhere. Capacity
options override what the agent detects.

  --id ID               agent id (default: the host name)
  --machine-id ID       machine the agent serves (default: the agent id)
${CAPACITY_HELP}
  --label KEY=VALUE     machine label for placement constraints; repeatable
  --work-dir DIR        working directory of task processes (default: the current directory)
  --log-level L         ${LOG_LEVELS.join(', ')} (default info)`,
  options: {
    ...CAPACITY_OPTIONS,
    id: { type: 'string' },
    'machine-id': { type: 'string' },
    label: { type: 'string', multiple: true },
    'work-dir': { type: 'string' },
    'log-level': { type: 'string' },
  },
  async run(context, values, positionals) {
    rejectExtraPositionals(positionals, 0);
    const options = parseAgentOptions(context.server, values);

    // Imported here so that other commands never load the agent.
    const { runAgent } = await import('../../agent/index.js');
    // Without a signal argument, runAgent installs the SIGTERM and SIGINT handlers itself.
    await runAgent(options);
  },
};

function parseAgentOptions(server: string, values: OptionValues): AgentOptions {
  const options: AgentOptions = { server, labels: parseKeyValues('label', stringListOption(values, 'label')) };

  const agentId = stringOption(values, 'id');
  if (agentId !== undefined) {
    options.agentId = agentId;
  }
  const machineId = stringOption(values, 'machine-id');
  if (machineId !== undefined) {
    options.machineId = machineId;
  }

  const capacity = parseCapacityOptions(values);
  if (capacity.cpuMilli !== undefined) {
    options.cpuMilli = capacity.cpuMilli;
  }
  if (capacity.memoryMib !== undefined) {
    options.memoryMib = capacity.memoryMib;
  }
  if (capacity.gpuCount !== undefined) {
    options.gpuCount = capacity.gpuCount;
  }
  if (capacity.gpuModel !== undefined) {
    options.gpuModel = capacity.gpuModel;
  }
  if (capacity.gpuMemoryMib !== undefined) {
    options.gpuMemoryMib = capacity.gpuMemoryMib;
  }

  const workDir = stringOption(values, 'work-dir');
  if (workDir !== undefined) {
    options.workDir = workDir;
  }
  const logLevel = stringOption(values, 'log-level');
  if (logLevel !== undefined) {
    if (!LOG_LEVELS.includes(logLevel)) {
      throw new UsageError(`invalid --log-level "${logLevel}": expected one of ${LOG_LEVELS.join(', ')}`);
    }
    options.logLevel = logLevel;
  }
  return options;
}
