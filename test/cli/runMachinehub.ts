import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Path of the CLI entry point that the tests run as a child process. */
export const BIN_PATH = fileURLToPath(new URL('../../bin/machinehub.js', import.meta.url));

/** Exit status and output of one CLI run. */
export interface CliResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node bin/machinehub.js ARGS` against `server` and collects its
 * output. Kills the child after `timeoutMs`, so a hung command fails the test
 * instead of stalling the suite. `env` adds environment variables.
 */
export function runMachinehub(server: string, args: string[], timeoutMs = 30_000, env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN_PATH, ...args], {
      env: { ...process.env, MACHINEHUB_SERVER: server, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));

    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      resolve({ exitCode, stdout, stderr });
    });
  });
}
