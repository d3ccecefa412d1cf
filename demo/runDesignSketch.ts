import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MachineStatus } from '../gen/machinehub/machine/v1/machine.js';
import { TaskSpec, TaskState, type Task } from '../gen/machinehub/task/v1/task.js';
import type { MachinehubClient } from '../client/index.js';

const CLI = fileURLToPath(new URL('../bin/machinehub.js', import.meta.url));

/**
 * The two machines of the original design sketch, as `machinehub agent`
 * flags: cpu_1 with 16 CPUs and 64 GiB, gpu_1 with 32 CPUs, 128 GiB and four
 * GPUs of 12 GiB (48 GiB in all).
 */
const AGENTS: Record<string, string[]> = {
  cpu_1: ['--cpus', '16', '--memory-mib', '65536'],
  gpu_1: ['--cpus', '32', '--memory-mib', '131072', '--gpus', '4', '--gpu-model', 'generic-12gib', '--gpu-memory-mib', '12288'],
};

/** Prints where the task ran and what it saw, so the output shows the GPU binding. */
const REPORT = 'echo "$MACHINEHUB_TASK_ID attempt $MACHINEHUB_ATTEMPT: CUDA_VISIBLE_DEVICES=[$CUDA_VISIBLE_DEVICES]"; sleep 1';

const TASKS: TaskSpec[] = [
  spec('task_1', 1, { cpuMilli: 4000, memoryMib: 8192, gpuCount: 0, gpuMemoryMib: 0 }),
  spec('task_2', 2, { cpuMilli: 8000, memoryMib: 16384, gpuCount: 1, gpuMemoryMib: 12288 }),
];

/** Agent processes started by the sketch; the caller stops them with stopAgents. */
export interface SketchAgents {
  processes: ChildProcess[];
}

/** Starts the two agents as real processes and waits until both machines are READY. */
export async function startSketchAgents(client: MachinehubClient, address: string, logDir: string): Promise<SketchAgents> {
  const processes = Object.entries(AGENTS).map(([id, flags]) =>
    spawn(process.execPath, [CLI, 'agent', '--server', address, '--id', id, '--log-level', 'warn', '--work-dir', logDir, ...flags], {
      stdio: ['ignore', 'inherit', 'inherit'],
    }),
  );
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { machines } = await client.machines.listMachines({ statuses: [MachineStatus.MACHINE_STATUS_READY], pageSize: 0, pageToken: '' });
    const ready = new Set(machines.map((machine) => machine.id));
    if (Object.keys(AGENTS).every((id) => ready.has(id))) return { processes };
    if (Date.now() > deadline) throw new Error(`agents not READY after 30 s; READY: ${[...ready].join(', ') || 'none'}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Stops the agents with SIGTERM (a drain) and waits for them to exit. */
export async function stopAgents(agents: SketchAgents): Promise<void> {
  await Promise.all(
    agents.processes.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
}

/**
 * Submits task_1 and task_2 of the design sketch, waits for both to finish,
 * and returns them. Throws when one fails or task_2 is not on gpu_1.
 */
export async function runSketchTasks(client: MachinehubClient): Promise<Task[]> {
  await client.tasks.submitTasks({ tasks: TASKS });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const tasks = await Promise.all(TASKS.map(async (task) => (await client.tasks.getTask({ id: task.id })).task as Task));
    const done = tasks.every((task) => task.state >= TaskState.TASK_STATE_COMPLETED);
    if (done) {
      for (const task of tasks) {
        if (task.state !== TaskState.TASK_STATE_COMPLETED) throw new Error(`${task.id} ended ${TaskState[task.state]}: ${task.error}`);
      }
      const task2 = tasks[1] as Task;
      if (task2.machineId !== 'gpu_1') throw new Error(`task_2 ran on ${task2.machineId}, expected gpu_1`);
      return tasks;
    }
    if (Date.now() > deadline) throw new Error('design sketch tasks did not finish within 60 s');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function spec(
  id: string,
  priority: number,
  resources: { cpuMilli: number; memoryMib: number; gpuCount: number; gpuMemoryMib: number },
): TaskSpec {
  return {
    ...TaskSpec.fromJSON({}),
    id,
    name: id,
    resources: { ...resources, gpuMilli: 0, gpuModels: [] },
    priority,
    command: 'sh',
    args: ['-c', REPORT],
  };
}
