import { parseArgs } from 'node:util';
import { createMachinehubClient, type MachinehubClient } from '../client/index.js';
import { COMMANDS } from './commands/index.js';
import type { Command, CommandContext, OptionValues } from './Command.js';
import { describeError, EXIT_FAILURE, EXIT_USAGE } from './describeError.js';
import { UsageError } from './UsageError.js';

/** Server address used when neither --server nor MACHINEHUB_SERVER is set. */
export const DEFAULT_SERVER = '127.0.0.1:50051';

/**
 * Default time one unary call may take, ms; MACHINEHUB_REQUEST_TIMEOUT_MS
 * overrides it. A refused connection fails at once, and this bounds a server
 * that accepts the connection but does not respond.
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

const GLOBAL_OPTIONS = {
  server: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const GLOBAL_HELP = `Global options:
  --server ADDR   host:port of the machinehub server (default: $MACHINEHUB_SERVER, else ${DEFAULT_SERVER})
  --json          print one JSON document instead of a table (watch: one JSON object per line)
  -h, --help      show help for the command

Environment:
  MACHINEHUB_SERVER               default for --server
  MACHINEHUB_REQUEST_TIMEOUT_MS   time one request may take, ms (default ${DEFAULT_REQUEST_TIMEOUT_MS})`;

/** Output streams of the CLI; tests and embedders may replace the process streams. */
export interface CliStreams {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const PROCESS_STREAMS: CliStreams = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/**
 * Runs the command that `argv` (arguments after the program name) selects
 * and returns the exit status: 0 on success, 2 for usage errors, 1 for any
 * other failure. Errors are printed as one line on standard error.
 */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv = process.env, streams: CliStreams = PROCESS_STREAMS): Promise<number> {
  let commandName = '';
  let server = env['MACHINEHUB_SERVER'] || DEFAULT_SERVER;
  let client: MachinehubClient | undefined;
  let requestTimedOut = false;
  const requestTimeoutMs = parseRequestTimeout(env['MACHINEHUB_REQUEST_TIMEOUT_MS']);

  try {
    const selection = selectCommand(argv);
    if (selection.command === undefined) {
      streams.stdout(`${selection.help}\n`);
      return selection.helpRequested ? 0 : EXIT_USAGE;
    }
    const command = selection.command;
    commandName = command.name;

    const { values, positionals } = parseCommandArgs(command, selection.args);
    if (values['help'] === true) {
      streams.stdout(`${command.help}\n\n${GLOBAL_HELP}\n`);
      return 0;
    }
    server = typeof values['server'] === 'string' ? values['server'] : server;
    // A bare word such as "50051" would resolve as a host name and reach port 443 of another machine.
    if (!/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(server)) {
      throw new UsageError(`invalid server address "${server}": expected host:port, for example 127.0.0.1:50051`);
    }

    const context: CommandContext = {
      server,
      json: values['json'] === true,
      client: () => {
        client ??= createMachinehubClient(server);
        return client;
      },
      requestOptions: () => {
        const signal = AbortSignal.timeout(requestTimeoutMs);
        signal.addEventListener('abort', () => (requestTimedOut = true), { once: true });
        return { signal };
      },
      print: (line) => streams.stdout(`${line}\n`),
    };
    await command.run(context, values, positionals);
    return 0;
  } catch (error) {
    // nice-grpc rejects with the signal's reason (abort-controller-x 0.5): a TimeoutError from AbortSignal.timeout.
    const timedOut = requestTimedOut && error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
    const { message, exitCode } = timedOut
      ? { message: `no response from server ${server} within ${requestTimeoutMs} ms (DEADLINE_EXCEEDED)`, exitCode: EXIT_FAILURE }
      : describeError(error, server);
    const prefix = commandName === '' ? 'machinehub' : `machinehub: ${commandName}`;
    streams.stderr(`${prefix}: ${message}\n`);
    return exitCode;
  } finally {
    client?.close();
  }
}

/** Returns the request timeout from the environment, or the default when it is unset or invalid. */
function parseRequestTimeout(text: string | undefined): number {
  const value = Number(text);
  return text !== undefined && Number.isSafeInteger(value) && value > 0 ? value : DEFAULT_REQUEST_TIMEOUT_MS;
}

interface CommandSelection {
  command?: Command;
  /** Arguments left for the command's parser, global options included. */
  args: string[];
  /** Help text to print when no command was selected. */
  help: string;
  helpRequested: boolean;
}

/**
 * Finds the command words in `argv`. Global options may come before them;
 * everything else after them is left for the command's own parser.
 */
function selectCommand(argv: string[]): CommandSelection {
  const leading: string[] = [];
  let index = 0;
  while (index < argv.length) {
    const token = argv[index]!;
    if (token === '--server') {
      leading.push(token, argv[index + 1] ?? '');
      index += 2;
    } else if (token.startsWith('--server=') || token === '--json' || token === '--help' || token === '-h') {
      leading.push(token);
      index += 1;
    } else if (token.startsWith('-')) {
      throw new UsageError(`unknown option ${token} before the command; run 'machinehub --help'`);
    } else {
      break;
    }
  }
  const helpRequested = leading.includes('--help') || leading.includes('-h');

  const group = argv[index];
  if (group === undefined) {
    return { args: [], help: topLevelHelp(), helpRequested };
  }
  const single = COMMANDS.find((command) => command.name === group);
  if (single !== undefined) {
    return { command: single, args: [...leading, ...argv.slice(index + 1)], help: '', helpRequested };
  }

  const subcommands = COMMANDS.filter((command) => command.name.startsWith(`${group} `));
  if (subcommands.length === 0) {
    throw new UsageError(`unknown command "${group}"; run 'machinehub --help' for the list`);
  }
  const rest = argv.slice(index + 1);
  const wordIndex = findSubcommandWord(rest);
  const word = wordIndex === -1 ? undefined : rest[wordIndex];
  const command = subcommands.find((candidate) => candidate.name === `${group} ${word}`);
  if (command === undefined) {
    const groupHelp = `Usage: machinehub ${group} COMMAND [options]\n\nCommands:\n${formatCommandList(subcommands)}`;
    if (word === undefined && (helpRequested || rest.includes('--help') || rest.includes('-h'))) {
      return { args: [], help: groupHelp, helpRequested: true };
    }
    const names = subcommands.map((candidate) => candidate.name.slice(group.length + 1)).join(', ');
    const problem = word === undefined ? `missing ${group} command` : `unknown ${group} command "${word}"`;
    throw new UsageError(`${problem}; expected one of ${names}`);
  }
  rest.splice(wordIndex, 1);
  return { command, args: [...leading, ...rest], help: '', helpRequested };
}

/** Returns the index of the first token that is neither an option nor the value of --server, or -1. */
function findSubcommandWord(tokens: string[]): number {
  for (let index = 0; index < tokens.length; index += 1) {
    const token = tokens[index]!;
    if (token === '--server') {
      index += 1;
    } else if (!token.startsWith('-')) {
      return index;
    }
  }
  return -1;
}

function parseCommandArgs(command: Command, args: string[]): { values: OptionValues; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: { ...GLOBAL_OPTIONS, ...command.options },
      allowPositionals: true,
      strict: true,
    });
    return { values: values as OptionValues, positionals };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      // Node's message goes on about positional arguments, which misleads for a mistyped option.
      const option = /'([^']+)'/.exec((error as Error).message)?.[1] ?? '';
      const hint = command.name === 'tasks submit' ? "; put the task's command and its options after '--'" : '';
      throw new UsageError(`unknown option '${option}'${hint}; run 'machinehub ${command.name} --help'`);
    }
    if (code !== undefined && code.startsWith('ERR_PARSE_ARGS')) {
      throw new UsageError((error as Error).message.split('\n').map((line) => line.trim()).join(' '));
    }
    throw error;
  }
}

function topLevelHelp(): string {
  return `Usage: machinehub COMMAND [options]

machinehub runs and controls a fleet of CPU and GPU machines.

Commands:
${formatCommandList(COMMANDS)}

${GLOBAL_HELP}

Run 'machinehub COMMAND --help' for the options of one command.`;
}

function formatCommandList(commands: Command[]): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  return commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`).join('\n');
}
