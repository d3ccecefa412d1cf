import net from 'node:net';
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

/** Expects exactly one line on standard error and nothing on standard output. */
function expectOneErrorLine(result: { stdout: string; stderr: string }): string {
  expect(result.stdout).toBe('');
  expect(result.stderr.endsWith('\n')).toBe(true);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).not.toMatch(/\bat \S+:\d+:\d+/);
  return lines[0]!;
}

describe('CLI errors', () => {
  test('unknown task id prints NOT_FOUND', async () => {
    const result = await runMachinehub(server.address, ['tasks', 'get', 'no-such-task']);

    expect(result.exitCode).toBe(1);
    expect(expectOneErrorLine(result)).toBe('machinehub: tasks get: task "no-such-task" not found (NOT_FOUND)');
  });

  test.each([
    [['tasks', 'submit', '--cpus', 'four', '--', 'true'], '--cpus "four"'],
    [['tasks', 'submit', '--cpus', '1', '--memory-mib', '1.5', '--', 'true'], '--memory-mib "1.5"'],
    [['tasks', 'submit', '--cpus', '1', '--gpu-milli', '1001', '--', 'true'], '--gpu-milli "1001"'],
    [['tasks', 'submit', '--gpus', '1', '--gpu-milli', '500', '--', 'true'], '--gpus and --gpu-milli'],
    [['tasks', 'submit', '--cpus', '1', '--constraint', 'zone between a,b', '--', 'true'], '--constraint "zone between a,b"'],
    [['tasks', 'submit', '--cpus', '1', '--policy', 'random', '--', 'true'], '--policy "random"'],
    [['tasks', 'submit', '--cpus', '1', '--env', 'NOVALUE', '--', 'true'], '--env "NOVALUE"'],
    [['tasks', 'submit', '--cpus', '1'], 'missing command'],
    [['tasks', 'submit', '--', 'true'], 'missing --cpus'],
    [['--server', '50051', 'machines', 'list'], 'invalid server address "50051"'],
    [['tasks', 'list', '--state', 'sleeping'], '--state "sleeping"'],
    [['tasks', 'submit', '--cpu', '1', '--', 'true'], "'--cpu'"],
    [['machines', 'register', 'm1', '--memory-mib', '1024'], 'missing --cpus'],
    [['machines', 'drain', 'm1', '--deadline=-5'], '--deadline "-5"'],
    [['machines', 'drain', 'm1', '--deadline', '-5'], "'--deadline=-XYZ'"],
    [['server', '--in-memory', '--data-dir', '/tmp/x'], '--data-dir and --in-memory'],
    [['tasks', 'frobnicate'], 'unknown tasks command "frobnicate"'],
    [['frobnicate'], 'unknown command "frobnicate"'],
  ])('usage error %j names the field', async (args, field) => {
    const result = await runMachinehub(server.address, args);

    expect(result.exitCode).toBe(2);
    const line = expectOneErrorLine(result);
    expect(line.startsWith('machinehub: ')).toBe(true);
    expect(line).toContain(field);
  });

  test('server rejection names the field', async () => {
    const result = await runMachinehub(server.address, ['tasks', 'submit', '--id', 'bad id!', '--cpus', '1', '--', 'true']);

    expect(result.exitCode).toBe(1);
    const line = expectOneErrorLine(result);
    expect(line).toMatch(/^machinehub: tasks submit: .*id.*\(INVALID_ARGUMENT\)$/);
  });

  test('unreachable server exits 1', async () => {
    const closed = await startServer({ listen: '127.0.0.1:0', inMemory: true, logLevel: 'silent' });
    const address = closed.address;
    await closed.close();

    const result = await runMachinehub(address, ['tasks', 'list']);

    expect(result.exitCode).toBe(1);
    expect(expectOneErrorLine(result)).toMatch(new RegExp(`^machinehub: tasks list: cannot reach server ${address}: .*\\(UNAVAILABLE\\)$`));
  });
});

describe('CLI request timeout', () => {
  test('silent server times out', async () => {
    // A TCP listener that never speaks HTTP/2, so the call gets no response.
    const silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = `127.0.0.1:${(silent.address() as net.AddressInfo).port}`;

    try {
      const result = await runMachinehub(address, ['tasks', 'list'], 15_000, { MACHINEHUB_REQUEST_TIMEOUT_MS: '1000' });

      expect(result.exitCode).toBe(1);
      expect(expectOneErrorLine(result)).toBe(`machinehub: tasks list: no response from server ${address} within 1000 ms (DEADLINE_EXCEEDED)`);
    } finally {
      silent.close();
    }
  });
});
