import type { Command } from '../Command.js';
import { agentCommand } from './agentCommand.js';
import { AGENTS_COMMANDS } from './agentsCommands.js';
import { MACHINES_COMMANDS } from './machinesCommands.js';
import { serverCommand } from './serverCommand.js';
import { TASKS_COMMANDS } from './tasksCommands.js';
import { tasksWatch } from './tasksWatch.js';

/** Every command, in the order `machinehub --help` lists them. */
export const COMMANDS: Command[] = [serverCommand, agentCommand, ...MACHINES_COMMANDS, ...TASKS_COMMANDS, tasksWatch, ...AGENTS_COMMANDS];
