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

describe('tasks commands', () => {
  test('submit prints the task id', async () => {
    const result = await runMachinehub(server.address, ['tasks', 'submit', '--id', 'submit-1', '--cpus', '4', '--memory-mib', '8192', '--', 'echo', 'hi']);

    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^submit-1 {2}queued/);
  });

  test('list shows resources readably', async () => {
    await runMachinehub(server.address, ['tasks', 'submit', '--id', 'list-1', '--name', 'trainer', '--cpus', '0.5', '--memory-mib', '1536', '--gpu-milli', '460', '--', 'true']);

    const result = await runMachinehub(server.address, ['tasks', 'list', '--state', 'queued']);

    expect(result.exitCode).toBe(0);
    const header = result.stdout.split('\n')[0];
    expect(header).toMatch(/^ID\s+NAME\s+STATE\s+CPU\s+MEMORY\s+GPU/);
    const row = result.stdout.split('\n').find((line) => line.startsWith('list-1'));
    expect(row).toBeDefined();
    expect(row).toMatch(/list-1\s+trainer\s+queued\s+0\.5\s+1\.5 GiB\s+0\.46\s/);
  });

  test('get shows reason and attempts', async () => {
    await runMachinehub(server.address, ['tasks', 'submit', '--id', 'get-1', '--cpus', '2', '--constraint', 'zone in a,b', '--env', 'MODE=fast', '--', 'sh', '-c', 'echo $MODE']);

    const result = await runMachinehub(server.address, ['tasks', 'get', 'get-1']);

    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^ID:\s+get-1$/m);
    expect(result.stdout).toMatch(/^State:\s+queued$/m);
    expect(result.stdout).toMatch(/^Reason:\s+\S/m);
    expect(result.stdout).toMatch(/^Command:\s+sh -c 'echo \$MODE'$/m);
    expect(result.stdout).toMatch(/^Constraints:\s+zone in a,b$/m);
    expect(result.stdout).toMatch(/^Env:\s+MODE=fast$/m);
    expect(result.stdout).toMatch(/^Attempts:\n {2}none yet$/m);
  });

  test('cancel marks queued task cancelled', async () => {
    await runMachinehub(server.address, ['tasks', 'submit', '--id', 'cancel-1', '--cpus', '1', '--', 'sleep', '60']);

    const cancelled = await runMachinehub(server.address, ['tasks', 'cancel', 'cancel-1']);
    const details = await runMachinehub(server.address, ['tasks', 'get', 'cancel-1']);

    expect(cancelled.exitCode).toBe(0);
    expect(cancelled.stdout.trim()).toBe('cancel-1  cancelled');
    expect(details.stdout).toMatch(/^State:\s+cancelled$/m);
  });

  test('watch exits for finished task', async () => {
    await runMachinehub(server.address, ['tasks', 'submit', '--id', 'watch-1', '--cpus', '1', '--', 'true']);
    await runMachinehub(server.address, ['tasks', 'cancel', 'watch-1']);

    const result = await runMachinehub(server.address, ['tasks', 'watch', 'watch-1'], 15_000);

    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/watch-1 {2}cancelled/);
  });
});
