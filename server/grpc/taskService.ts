import type { CallContext, ServiceImplementation } from 'nice-grpc';
import { Task, TaskState, type TaskServiceDefinition, type WatchTasksResponse } from '../../gen/machinehub/task/v1/task.js';
import type { ControlPlane } from '../control/ControlPlane.js';
import type { TaskRecord } from '../control/records.js';
import { isFinal } from '../control/taskStates.js';
import { invalidArgument } from '../errors.js';
import { eventStream } from './eventStream.js';
import { pageSize, toWireTask } from './wire.js';

/** Bytes of a ListTasks response kept free for its other fields. */
const PAGE_HEADROOM_BYTES = 1024;

/** TaskService handlers: thin adapters over the ControlPlane. */
export function taskService(plane: ControlPlane, maxMessageBytes: number): ServiceImplementation<typeof TaskServiceDefinition> {
  return {
    async submitTasks(request) {
      const tasks = await plane.submit(request.tasks);
      return { tasks: tasks.map((task) => toWireTask(plane, task)) };
    },

    async getTask(request) {
      return { task: toWireTask(plane, plane.getTask(request.id)) };
    },

    async listTasks(request) {
      if (request.pageSize < 0) throw invalidArgument(`page_size: ${request.pageSize} is negative`);
      if (!(request.state in TaskState) || request.state === TaskState.UNRECOGNIZED) {
        throw invalidArgument(`state: ${request.state} is not a known task state`);
      }
      const after = request.pageToken === '' ? 0 : /^\d{1,15}$/.test(request.pageToken) ? Number(request.pageToken) : -1;
      if (after < 0) {
        throw invalidArgument(`page_token: "${request.pageToken}" is not a token from a previous response`);
      }
      const limit = pageSize(request.pageSize);
      const tasks: Task[] = [];
      let lastSeq = 0;
      let bytes = 0;
      let more = false;
      for (const task of plane.tasks.values()) {
        if (task.seq <= after) continue;
        if (request.state !== TaskState.TASK_STATE_UNSPECIFIED && task.state !== request.state) continue;
        const wire = toWireTask(plane, task);
        // A page also ends before it outgrows the message limit; the token resumes after it.
        const size = Task.encode(wire).finish().length + 8;
        if (tasks.length === limit || (tasks.length > 0 && bytes + size > maxMessageBytes - PAGE_HEADROOM_BYTES)) {
          more = true;
          break;
        }
        tasks.push(wire);
        bytes += size;
        lastSeq = task.seq;
      }
      return { tasks, nextPageToken: more ? String(lastSeq) : '' };
    },

    async cancelTask(request) {
      return { task: toWireTask(plane, await plane.cancel(request.id)) };
    },

    async *watchTasks(request, context: CallContext) {
      const ids = new Set(request.taskIds);
      const wanted = (task: TaskRecord) => ids.size === 0 || ids.has(task.id);
      const initial: WatchTasksResponse[] = [];
      if (request.includeCurrent) {
        for (const task of plane.tasks.values()) {
          if (wanted(task) && !isFinal(task.state)) {
            initial.push({ task: toWireTask(plane, task), previousState: TaskState.TASK_STATE_UNSPECIFIED });
          }
        }
      }
      yield* eventStream<WatchTasksResponse>(
        plane,
        'task',
        (task: TaskRecord, previousState: TaskState) =>
          wanted(task) ? { task: toWireTask(plane, task), previousState } : undefined,
        context.signal,
        initial,
      );
    },
  };
}
