import { describe, expect, it } from 'vitest';
import type { MachineRecord, TaskRecord } from '../../server/control/records.js';
import { CommitBatcher, type Batch } from '../../server/store/CommitBatcher.js';
import { fullMachine, fullTask } from './fullRecords.js';

/** Creates a batcher that records its commits and fails them while `failing` is true. */
function recordingBatcher() {
  const commits: Batch[] = [];
  const failures: unknown[] = [];
  const state = { failing: false };
  const batcher = new CommitBatcher(
    (batch) => {
      if (state.failing) throw new Error('disk full');
      commits.push(batch);
    },
    (error) => failures.push(error),
  );
  return { batcher, commits, failures, state };
}

const ids = (records: Array<TaskRecord | MachineRecord>) => records.map((record) => record.id);

describe('CommitBatcher', () => {
  it('groups one turn into one commit', async () => {
    const { batcher, commits } = recordingBatcher();
    batcher.saveTask(fullTask('t-1', 1));
    batcher.saveTask(fullTask('t-2', 2));
    batcher.saveMachine(fullMachine('m-1'));
    batcher.deleteMachine('m-2');
    await batcher.flush();

    expect(commits).toHaveLength(1);
    expect(ids(commits[0]!.tasks)).toEqual(['t-1', 't-2']);
    expect(ids(commits[0]!.machines)).toEqual(['m-1']);
    expect(commits[0]!.deletedMachineIds).toEqual(['m-2']);
  });

  it('writes a record saved twice once', async () => {
    const { batcher, commits } = recordingBatcher();
    const task = fullTask('t-1', 1);
    batcher.saveTask(task);
    batcher.saveTask(task);
    await batcher.flush();

    expect(commits).toHaveLength(1);
    expect(ids(commits[0]!.tasks)).toEqual(['t-1']);
  });

  it('later deletion replaces a save', async () => {
    const { batcher, commits } = recordingBatcher();
    batcher.saveMachine(fullMachine('m-1'));
    batcher.deleteMachine('m-1');
    await batcher.flush();

    expect(commits[0]!.machines).toEqual([]);
    expect(commits[0]!.deletedMachineIds).toEqual(['m-1']);
  });

  it('flush with nothing saved resolves', async () => {
    const { batcher, commits } = recordingBatcher();
    await batcher.flush();
    expect(commits).toEqual([]);
  });

  it('failed commit rejects and retries', async () => {
    const { batcher, commits, failures, state } = recordingBatcher();
    state.failing = true;
    batcher.saveTask(fullTask('t-1', 1));
    await expect(batcher.flush()).rejects.toThrow('disk full');
    expect(failures).toHaveLength(1);

    state.failing = false;
    batcher.saveTask(fullTask('t-2', 2));
    await batcher.flush();
    expect(commits).toHaveLength(1);
    expect(ids(commits[0]!.tasks).sort()).toEqual(['t-1', 't-2']);
  });

  it('retries a failed batch without new saves', async () => {
    const { batcher, commits, state } = recordingBatcher();
    state.failing = true;
    batcher.saveTask(fullTask('t-1', 1));
    await batcher.flush().catch(() => {});
    state.failing = false;

    // The retry runs about one second later, with no save or flush to trigger it.
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    expect(commits.map((batch) => ids(batch.tasks))).toEqual([['t-1']]);
  });

  it('saves during a commit wait for the next', async () => {
    let release!: () => void;
    const commits: string[][] = [];
    const batcher = new CommitBatcher(
      async (batch) => {
        commits.push(ids(batch.tasks));
        if (commits.length === 1) await new Promise<void>((resolve) => (release = resolve));
      },
      () => {},
    );
    batcher.saveTask(fullTask('t-1', 1));
    const first = batcher.flush();
    await new Promise((resolve) => setImmediate(resolve));
    batcher.saveTask(fullTask('t-2', 2));
    const second = batcher.flush();
    expect(commits).toEqual([['t-1']]);

    release();
    await first;
    await second;
    expect(commits).toEqual([['t-1'], ['t-2']]);
  });
});
