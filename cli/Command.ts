import type { ParseArgsConfig } from 'node:util';
import type { CallOptions } from 'nice-grpc';
import type { MachinehubClient } from '../client/index.js';

/** Parsed option values, keyed by long option name. */
export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** Environment of a running command: server, output mode, client and output. */
export interface CommandContext {
  /** host:port of the server, from --server, MACHINEHUB_SERVER or the default. */
  server: string;
  /** True with --json: print one JSON document (one object per line for streams). */
  json: boolean;
  /** Client of `server`, created on first use and closed when the command ends. */
  client(): MachinehubClient;
  /** Options for one unary call: a signal that aborts it after the request timeout. */
  requestOptions(): CallOptions;
  /** Writes one line to standard output. */
  print(line: string): void;
}

/** One CLI command, such as "tasks submit". */
export interface Command {
  /** Words that select the command, for example "tasks submit". */
  name: string;
  /** One line for the command list in `machinehub --help`. */
  summary: string;
  /** Full text of `--help`, without the global options. */
  help: string;
  /** parseArgs options besides the global ones. */
  options: NonNullable<ParseArgsConfig['options']>;
  run(context: CommandContext, values: OptionValues, positionals: string[]): Promise<void>;
}
