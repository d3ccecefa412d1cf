import { pino } from 'pino';
import { describe, expect, it } from 'vitest';

import type { TaskStatus } from '../../gen/machinehub/agent/v1/agent.js';
import { TaskState } from '../../gen/machinehub/task/v1/task.js';
import { RequestQueue } from '../../agent/RequestQueue.js';
import { StatusBuffer } from '../../agent/StatusBuffer.js';

function report(taskId: string, state: TaskState): TaskStatus {
  return { taskId, attempt: 1, state, exitCode: 0, error: '', outputTail: '' };
}

describe('StatusBuffer', () => {
  it('keeps reports in order', () => {
    const buffer = new StatusBuffer(10, pino({ level: 'silent' }));
    buffer.append([report('b', TaskState.TASK_STATE_RUNNING)]);
    buffer.prepend([report('a', TaskState.TASK_STATE_RUNNING)]);
    buffer.append([report('b', TaskState.TASK_STATE_COMPLETED)]);

    expect(buffer.takeAll().map((status) => `${status.taskId}:${TaskState[status.state]}`)).toEqual([
      'a:TASK_STATE_RUNNING',
      'b:TASK_STATE_RUNNING',
      'b:TASK_STATE_COMPLETED',
    ]);
    expect(buffer.length).toBe(0);
  });

  it('drops the oldest when full', () => {
    const buffer = new StatusBuffer(2, pino({ level: 'silent' }));
    buffer.append([report('a', TaskState.TASK_STATE_RUNNING), report('b', TaskState.TASK_STATE_RUNNING), report('c', TaskState.TASK_STATE_RUNNING)]);

    expect(buffer.dropped).toBe(1);
    expect(buffer.takeAll().map((status) => status.taskId)).toEqual(['b', 'c']);
    expect(buffer.dropped).toBe(0);
  });

  it('lists each buffered attempt once', () => {
    const buffer = new StatusBuffer(10, pino({ level: 'silent' }));
    buffer.append([report('a', TaskState.TASK_STATE_RUNNING), report('a', TaskState.TASK_STATE_FAILED), report('b', TaskState.TASK_STATE_COMPLETED)]);

    expect(buffer.attempts()).toEqual([
      { taskId: 'a', attempt: 1 },
      { taskId: 'b', attempt: 1 },
    ]);
  });
});

describe('RequestQueue', () => {
  it('yields pushed items then ends', async () => {
    const queue = new RequestQueue<number>();
    queue.push(1);
    queue.push(2);
    queue.end();

    const items: number[] = [];
    for await (const item of queue) {
      items.push(item);
    }

    expect(items).toEqual([1, 2]);
    expect(queue.push(3)).toBe(false);
  });

  it('wakes a waiting reader', async () => {
    const queue = new RequestQueue<string>();
    const iterator = queue[Symbol.asyncIterator]();
    const next = iterator.next();

    queue.push('late');

    expect(await next).toEqual({ value: 'late', done: false });
  });

  it('returns unpulled items on close', async () => {
    const queue = new RequestQueue<string>();
    const iterator = queue[Symbol.asyncIterator]();
    queue.push('pulled');
    queue.push('left');
    await iterator.next();

    expect(queue.close()).toEqual(['left']);
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
  });
});
