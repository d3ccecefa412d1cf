import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startServer } from '../../server/index.js';
import { runMachinehub } from './runMachinehub.js';

let server: Awaited<ReturnType<typeof startServer>>;

beforeAll(async () => {
  server = await startServer({ listen: '127.0.0.1:0', inMemory: true, logLevel: 'silent' });
});

afterAll(async () => {
  await server?.close();
});

/** Runs the CLI with --json, expects success and returns the parsed document. */
async function runJson(args: string[]): Promise<any> {
  const result = await runMachinehub(server.address, ['--json', ...args]);
  expect(result.stderr).toBe('');
  expect(result.exitCode).toBe(0);
  return JSON.parse(result.stdout);
}

describe('--json output', () => {
  test('submit returns the stored task', async () => {
    const document = await runJson(['tasks', 'submit', '--id', 'json-1', '--cpus', '4', '--memory-mib', '8192', '--gpus', '2', '--priority', '7', '--', 'echo', 'hi']);

    expect(document.tasks).toHaveLength(1);
    expect(document.tasks[0].id).toBe('json-1');
    expect(document.tasks[0].state).toBe('TASK_STATE_QUEUED');
    expect(document.tasks[0].spec.resources).toMatchObject({ cpuMilli: 4000, memoryMib: 8192, gpuCount: 2 });
    expect(document.tasks[0].spec.priority).toBe(7);
    expect(document.tasks[0].spec.args).toEqual(['hi']);
  });

  test('list and get parse', async () => {
    await runJson(['tasks', 'submit', '--id', 'json-2', '--cpus', '1', '--', 'true']);

    const listed = await runJson(['tasks', 'list']);
    const fetched = await runJson(['tasks', 'get', 'json-2']);

    expect(listed.tasks.map((task: { id: string }) => task.id)).toContain('json-2');
    expect(fetched.task.id).toBe('json-2');
    expect(fetched.task.spec.command).toBe('true');
  });

  test('machines and agents parse', async () => {
    const registered = await runJson(['machines', 'register', 'json-m1', '--cpus', '16', '--memory-mib', '65536', '--gpus', '1', '--gpu-model', 'A100', '--label', 'zone=a']);
    const machines = await runJson(['machines', 'list']);
    const agents = await runJson(['agents', 'list']);

    expect(registered.machine.id).toBe('json-m1');
    expect(registered.machine.capacity.gpus).toEqual([{ model: 'A100' }]);
    expect(machines.machines[0].labels).toEqual({ zone: 'a' });
    expect(agents).toEqual({ agents: [] });
  });

  test('watch prints one object per line', async () => {
    await runJson(['tasks', 'submit', '--id', 'json-3', '--cpus', '1', '--', 'true']);
    await runJson(['tasks', 'cancel', 'json-3']);

    const result = await runMachinehub(server.address, ['tasks', 'watch', 'json-3', '--json'], 15_000);

    expect(result.exitCode).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(1);
    for (const line of lines) {
      expect(() => JSON.parse(line)).not.toThrow();
    }
    expect(JSON.parse(lines.at(-1)!).task.state).toBe('TASK_STATE_CANCELLED');
  });
});
