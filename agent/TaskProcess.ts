import { spawn, type ChildProcess } from 'node:child_process';

import { killProcessGroup } from './killProcessGroup.js';
import { OutputTail } from './OutputTail.js';

/** Outcome of a task's process. */
export interface ProcessExit {
  /** Exit status, or -1 when a signal ended the process or it never started. */
  exitCode: number;
  /** Signal that ended the process, when one did. */
  signal: NodeJS.Signals | null;
  /** Error that kept the process from starting, for example "spawn ENOENT". */
  spawnError: string | null;
  /** Last bytes of standard output and error together. */
  outputTail: string;
}

/** Command to run and its input. The caller builds the environment. */
export interface TaskProcessOptions {
  command: string;
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  /** Working directory. Default: the agent's current directory. */
  cwd?: string;
  /** Bytes written to standard input, which is then closed. */
  stdin?: Uint8Array;
  /** Called once the process exists (the 'spawn' event), never after a spawn error. */
  onSpawn?: (pid: number) => void;
  /** Maximum bytes of output kept. Default 4096. */
  outputTailBytes?: number;
}

/**
 * Time to wait for the output pipes to close after the main process exited,
 * in ms. A background process that inherited the pipes can keep them open
 * forever, so the exit is reported without waiting longer than this.
 */
const PIPE_CLOSE_WAIT_MS = 500;

/**
 * One task command running as the leader of its own process group (spawned
 * with detached: true and no shell), so that stop() and kill() reach every
 * process the command started.
 */
export class TaskProcess {
  /** Resolves once when the process has exited or failed to start; never rejects. */
  readonly exited: Promise<ProcessExit>;

  private readonly child: ChildProcess;
  private readonly tail: OutputTail;
  private killTimer: NodeJS.Timeout | undefined;
  private finished = false;

  constructor(options: TaskProcessOptions) {
    this.tail = new OutputTail(options.outputTailBytes);

    let resolveExited!: (exit: ProcessExit) => void;
    this.exited = new Promise((resolve) => {
      resolveExited = resolve;
    });

    const finish = (exit: Omit<ProcessExit, 'outputTail'>): void => {
      if (this.finished) {
        return;
      }
      this.finished = true;
      clearTimeout(this.killTimer);
      resolveExited({ ...exit, outputTail: this.tail.toString() });
    };

    this.child = spawn(options.command, [...options.args], {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      shell: false,
      stdio: ['pipe', 'pipe', 'pipe'],
    });

    this.child.stdout?.on('data', (chunk: Buffer) => this.tail.push(chunk));
    this.child.stderr?.on('data', (chunk: Buffer) => this.tail.push(chunk));

    // A command that exits without reading its input makes the write fail
    // with EPIPE; that is the command's business, not an agent error.
    this.child.stdin?.on('error', () => {});
    if (options.stdin !== undefined && options.stdin.length > 0) {
      this.child.stdin?.end(options.stdin);
    } else {
      this.child.stdin?.end();
    }

    this.child.once('spawn', () => {
      if (this.child.pid !== undefined) {
        options.onSpawn?.(this.child.pid);
      }
    });

    this.child.once('error', (error: NodeJS.ErrnoException) => {
      // 'error' without a pid means the spawn itself failed. Errors of a
      // running process (a failed kill) arrive with a pid and are not an exit.
      if (this.child.pid === undefined) {
        finish({ exitCode: -1, signal: null, spawnError: describeSpawnError(options.command, error) });
      }
    });

    this.child.once('exit', (code, signal) => {
      const exit = { exitCode: code ?? -1, signal, spawnError: null };
      const pid = this.child.pid;

      // The task is over when its main process exits. Processes it left in
      // its group get SIGKILL so that they cannot hold the resources that
      // the server releases for this task.
      if (pid !== undefined) {
        try {
          killProcessGroup(pid, 'SIGKILL');
        } catch {
          // ESRCH (group already gone) returns false instead of throwing.
          // Any other error leaves nothing more to do for this group.
        }
      }

      const pipeTimer = setTimeout(() => {
        this.child.stdout?.destroy();
        this.child.stderr?.destroy();
        finish(exit);
      }, PIPE_CLOSE_WAIT_MS);
      this.child.once('close', () => {
        clearTimeout(pipeTimer);
        finish(exit);
      });
    });
  }

  /** Process id, which is also the process group id; undefined if spawn failed. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /**
   * Sends SIGTERM to the process group, then SIGKILL after graceMs if the
   * main process has not exited by then. Calling it again sends SIGTERM again
   * but keeps the first SIGKILL deadline.
   */
  stop(graceMs: number): void {
    const pid = this.child.pid;
    if (this.finished || pid === undefined) {
      return;
    }
    killProcessGroup(pid, 'SIGTERM');

    if (this.killTimer === undefined) {
      this.killTimer = setTimeout(() => this.kill(), Math.max(0, graceMs));
    }
  }

  /** Sends SIGKILL to the process group at once. */
  kill(): void {
    const pid = this.child.pid;
    if (this.finished || pid === undefined) {
      return;
    }
    killProcessGroup(pid, 'SIGKILL');
  }
}

/** Turns a failed spawn into a message an operator can act on; Node's own names only the syscall. */
function describeSpawnError(command: string, error: NodeJS.ErrnoException): string {
  if (error.code === 'ENOENT') return `command "${command}" not found in the agent's PATH (${error.message})`;
  if (error.code === 'EACCES') return `command "${command}" is not executable by the agent (${error.message})`;
  return error.message;
}
