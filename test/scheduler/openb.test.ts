import { describe, expect, it } from 'vitest';
import { parseOpenbMachines, parseOpenbTasks } from '../../server/scheduler/index.ts';

describe('OpenB trace parser', () => {
  it('parses machines with GPU memory', () => {
    const machines = parseOpenbMachines('sn,cpu_milli,memory_mib,gpu,model\nnode-1,32000,262144,0,\nnode-2,96000,393216,2,V100M32\n');
    expect(machines).toEqual([
      { id: 'node-1', cpuMilli: 32000, memoryMib: 262144, gpus: [], labels: {} },
      {
        id: 'node-2',
        cpuMilli: 96000,
        memoryMib: 393216,
        gpus: [
          { index: 0, model: 'V100M32', memoryMib: 32768 },
          { index: 1, model: 'V100M32', memoryMib: 32768 },
        ],
        labels: {},
      },
    ]);
  });

  it('parses shares, whole GPUs and durations', () => {
    const header = 'name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time';
    const csv = [
      header,
      'p-share,6000,12288,1,460,,LS,Running,10,110,20',
      'p-whole,12000,16384,2,1000,V100M16|V100M32,LS,Running,5,50,5',
      'p-full,1000,1024,1,1000,,BE,Running,0,10,0',
      'p-pending,11908,47104,1,1000,,BE,Pending,100,120,',
      'p-negative,1000,1024,0,0,,BE,Failed,100,50,60',
    ].join('\n');

    const tasks = parseOpenbTasks(csv);

    expect(tasks[0]).toMatchObject({ id: 'p-share', gpuCount: 0, gpuMilli: 460, creationTime: 10, durationSec: 90 });
    expect(tasks[1]).toMatchObject({ id: 'p-whole', gpuCount: 2, gpuMilli: 0, gpuModels: ['V100M16', 'V100M32'], durationSec: 45 });
    expect(tasks[2]).toMatchObject({ gpuCount: 1, gpuMilli: 0 });
    expect(tasks[3]).toMatchObject({ id: 'p-pending', durationSec: 0 });
    expect(tasks[4]).toMatchObject({ id: 'p-negative', durationSec: 0 });
  });

  it('rejects unknown GPU models', () => {
    expect(() => parseOpenbMachines('sn,cpu_milli,memory_mib,gpu,model\nn,1000,1024,1,H100\n')).toThrow(
      'line 2: GPU model H100 has no memory entry in OPENB_GPU_MEMORY_MIB',
    );
  });
});
