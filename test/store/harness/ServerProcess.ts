import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ServerOptions } from '../../../server/options.js';

const SERVE_SCRIPT = fileURLToPath(new URL('./serveForTest.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Maximum time a server gets to close after SIGTERM before it is killed, ms. */
const STOP_TIMEOUT_MS = 10_000;

/**
 * One server replica run as its own Node process (`node --import tsx`), so
 * that SIGKILL ends it the way a crash would: no close, no final flush.
 * stdout and stderr go to `logFile`, next to the server's own log.
 */
export class ServerProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  /** Number of times the process was started. */
  starts = 0;

  constructor(
    readonly name: string,
    readonly address: string,
    private readonly options: ServerOptions,
    private readonly logFile: string,
  ) {}

  get isRunning(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the process; the server listens a moment later. */
  start(): void {
    if (this.child) throw new Error(`server ${this.name} is already running (pid ${this.child.pid})`);
    const output = openSync(this.logFile, 'a');
    const child = spawn(process.execPath, ['--import', 'tsx', SERVE_SCRIPT, JSON.stringify({ ...this.options, listen: this.address })], {
      cwd: REPO_ROOT,
      stdio: ['ignore', output, output],
    });
    closeSync(output);
    this.child = child;
    this.starts += 1;
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        if (this.child === child) this.child = undefined;
        resolve();
      });
    });
  }

  /** Sends SIGKILL and waits until the process is gone, so its locks and sockets are released. */
  async kill(): Promise<void> {
    this.child?.kill('SIGKILL');
    await this.exited;
  }

  /** Sends SIGTERM for a graceful close, and SIGKILL when it takes longer than STOP_TIMEOUT_MS. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }
}
