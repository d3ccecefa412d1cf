import type { CallContext, ServiceImplementation } from 'nice-grpc';
import { TaskState, type TaskServiceDefinition, type WatchTasksResponse } from '../../gen/machinehub/task/v1/task.js';
import type { ControlPlane } from '../control/ControlPlane.js';
import type { TaskRecord } from '../control/records.js';
import { isFinal } from '../control/taskStates.js';
import { invalidArgument } from '../errors.js';
import { eventStream } from './eventStream.js';
import { pageSize, toWireTask } from './wire.js';

/** TaskService handlers: thin adapters over the ControlPlane. */
export function taskService(plane: ControlPlane): ServiceImplementation<typeof TaskServiceDefinition> {
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
      const after = request.pageToken === '' ? 0 : Number(request.pageToken);
      if (!Number.isSafeInteger(after) || after < 0) {
        throw invalidArgument(`page_token: "${request.pageToken}" is not a token from a previous response`);
      }
      const limit = pageSize(request.pageSize);
      const tasks: TaskRecord[] = [];
      let more = false;
      for (const task of plane.tasks.values()) {
        if (task.seq <= after) continue;
        if (request.state !== TaskState.TASK_STATE_UNSPECIFIED && task.state !== request.state) continue;
        if (tasks.length === limit) {
          more = true;
          break;
        }
        tasks.push(task);
      }
      const last = tasks.at(-1);
      return {
        tasks: tasks.map((task) => toWireTask(plane, task)),
        nextPageToken: more && last ? String(last.seq) : '',
      };
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
