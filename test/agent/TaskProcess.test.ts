import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { TaskProcess } from '../../agent/TaskProcess.js';

/**
 * True while a process with this pid runs. A killed orphan may stay a zombie
 * (state Z) when PID 1 of a container does not reap, so the state in
 * /proc/PID/stat counts, not only the pid's existence.
 */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

function runShell(script: string, stdin?: string): TaskProcess {
  return new TaskProcess({
    command: 'sh',
    args: ['-c', script],
    env: process.env,
    ...(stdin === undefined ? {} : { stdin: Buffer.from(stdin) }),
  });
}

describe('TaskProcess', () => {
  it('reports exit status zero', async () => {
    const exit = await runShell('echo hello').exited;

    expect(exit.exitCode).toBe(0);
    expect(exit.signal).toBeNull();
    expect(exit.spawnError).toBeNull();
    expect(exit.outputTail).toBe('hello\n');
  });

  it('reports a non-zero exit status', async () => {
    const exit = await runShell('echo oops >&2; exit 3').exited;

    expect(exit.exitCode).toBe(3);
    expect(exit.outputTail).toBe('oops\n');
  });

  it('keeps the last 4096 output bytes', async () => {
    // 10000 lines of "xxxxxxxx\n" on stdout, then a marker on stderr.
    const exit = await runShell('i=0; while [ $i -lt 10000 ]; do echo xxxxxxxx; i=$((i+1)); done; echo END >&2').exited;

    expect(Buffer.byteLength(exit.outputTail)).toBe(4096);
    expect(exit.outputTail.endsWith('xxxxxxxx\nEND\n')).toBe(true);
  });

  it('writes stdin to the command', async () => {
    const exit = await runShell('cat', 'from stdin').exited;

    expect(exit.outputTail).toBe('from stdin');
  });

  it('reports a missing command as spawn error', async () => {
    const started: number[] = [];
    const taskProcess = new TaskProcess({
      command: 'machinehub-no-such-command',
      args: [],
      env: process.env,
      onSpawn: (pid) => started.push(pid),
    });
    const exit = await taskProcess.exited;

    expect(exit.exitCode).toBe(-1);
    expect(exit.spawnError).toMatch(/ENOENT/);
    expect(started).toEqual([]);
  });

  it('kills a group ignoring SIGTERM', async () => {
    // The shell ignores SIGTERM and so does its child sleep, which inherits
    // the ignored disposition. Only SIGKILL to the whole group ends both.
    const pidFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'machinehub-task-')), 'pid');
    const taskProcess = runShell(`trap "" TERM; sleep 60 & echo $! > ${pidFile}; wait`);
    expect(taskProcess.pid).toBeDefined();

    const sleepPid = await new Promise<number>((resolve) => {
      const poll = setInterval(() => {
        const text = existsSync(pidFile) ? readFileSync(pidFile, 'utf8') : '';
        if (text.endsWith('\n')) {
          clearInterval(poll);
          resolve(Number.parseInt(text, 10));
        }
      }, 20);
    });
    expect(isRunning(sleepPid)).toBe(true);

    const stopTime = Date.now();
    taskProcess.stop(300);
    const exit = await taskProcess.exited;

    expect(exit.signal).toBe('SIGKILL');
    expect(exit.exitCode).toBe(-1);
    expect(Date.now() - stopTime).toBeGreaterThanOrEqual(250);
    expect(isRunning(sleepPid)).toBe(false);
  });

  it('stops a cooperative command with SIGTERM', async () => {
    const taskProcess = runShell('sleep 60');
    await new Promise((resolve) => setTimeout(resolve, 100));
    taskProcess.stop(10_000);
    const exit = await taskProcess.exited;

    expect(exit.signal).toBe('SIGTERM');
  });
});
