import { login } from '@/lib/auth/login';
import { loginRequestSchema } from '@/lib/schemas/auth';
import {
  getActivityReportRequestSchema,
  getAllRequestSchema,
  getCountRequestSchema,
  getMetricKeysRequestSchema,
  getStatsRequestSchema,
  registerRequestSchema,
  statusReportRequestSchema,
  unregisterRequestSchema,
} from '@/lib/schemas/workers';
import { encodeSamples } from '@/lib/stats/layout';
import { reportTime } from '@/lib/stats/samples';
import { getActivityReport, getMetricKeys, getStats } from '@/lib/stats/service';
import { getAll, getCount, register, statusReport, unregister } from '@/lib/workers/service';

import { createProject, getAllProjects } from '@/lib/catalog/projects';
import {
  addTask,
  createQueue,
  deleteQueue,
  getAllQueues,
  getDefaultQueue,
  getNextTask,
  getQueueById,
  removeTask,
  updateQueue,
} from '@/lib/catalog/queues';
import {
  createTask,
  deleteTask,
  editTask,
  getAllTasks,
  getTaskById,
  taskCompleted,
  taskFailed,
  taskStarted,
  taskStopped,
} from '@/lib/catalog/tasks';
import { createProjectRequestSchema, getAllProjectsRequestSchema } from '@/lib/schemas/projects';
import {
  createQueueRequestSchema,
  deleteQueueRequestSchema,
  getAllQueuesRequestSchema,
  getDefaultQueueRequestSchema,
  getNextTaskRequestSchema,
  getQueueByIdRequestSchema,
  queueTaskRequestSchema,
  updateQueueRequestSchema,
} from '@/lib/schemas/queues';
import {
  changeStatusRequestSchema,
  createTaskRequestSchema,
  deleteTaskRequestSchema,
  editTaskRequestSchema,
  getAllTasksRequestSchema,
  getTaskByIdRequestSchema,
} from '@/lib/schemas/tasks';

import { defineEndpoint, type Endpoint } from './endpoint';

/**
 * Every endpoint the service serves, with the schema versions of the original server up
 * to 2.30. A version added only fields; all of them are accepted. auth.login has the
 * original's only version, 2.1. The catalog endpoints (queues, tasks, projects) start at
 * 2.4 like the workers endpoints, although ClearML serves some of them from 2.1.
 */
const endpoints: Endpoint[] = [
  defineEndpoint({ name: 'auth.login', versions: ['2.1'], request: loginRequestSchema, handle: login }),
  defineEndpoint({ name: 'workers.get_all', versions: ['2.4', '2.20', '2.22', '2.30'], request: getAllRequestSchema, handle: getAll }),
  defineEndpoint({ name: 'workers.get_count', versions: ['2.26', '2.30'], request: getCountRequestSchema, handle: getCount }),
  defineEndpoint({ name: 'workers.register', versions: ['2.4', '2.22'], request: registerRequestSchema, handle: register }),
  defineEndpoint({ name: 'workers.unregister', versions: ['2.4'], request: unregisterRequestSchema, handle: unregister }),
  defineEndpoint({ name: 'workers.status_report', versions: ['2.4', '2.22'], request: statusReportRequestSchema, handle: statusReport }),
  defineEndpoint({ name: 'workers.get_metric_keys', versions: ['2.4'], request: getMetricKeysRequestSchema, handle: getMetricKeys }),
  defineEndpoint({ name: 'workers.get_stats', versions: ['2.4'], request: getStatsRequestSchema, handle: getStats }),
  defineEndpoint({ name: 'workers.get_activity_report', versions: ['2.4'], request: getActivityReportRequestSchema, handle: getActivityReport }),

  defineEndpoint({ name: 'queues.create', versions: ['2.4', '2.13'], request: createQueueRequestSchema, handle: createQueue }),
  defineEndpoint({ name: 'queues.get_all', versions: ['2.4', '2.15', '2.20', '2.21'], request: getAllQueuesRequestSchema, handle: getAllQueues }),
  defineEndpoint({ name: 'queues.get_by_id', versions: ['2.4', '2.20'], request: getQueueByIdRequestSchema, handle: getQueueById }),
  defineEndpoint({ name: 'queues.update', versions: ['2.4', '2.13'], request: updateQueueRequestSchema, handle: updateQueue }),
  defineEndpoint({ name: 'queues.delete', versions: ['2.4'], request: deleteQueueRequestSchema, handle: deleteQueue }),
  defineEndpoint({ name: 'queues.add_task', versions: ['2.4'], request: queueTaskRequestSchema, handle: addTask }),
  defineEndpoint({ name: 'queues.remove_task', versions: ['2.4'], request: queueTaskRequestSchema, handle: removeTask }),
  defineEndpoint({ name: 'queues.get_default', versions: ['2.4'], request: getDefaultQueueRequestSchema, handle: getDefaultQueue }),
  defineEndpoint({ name: 'queues.get_next_task', versions: ['2.4', '2.14', '2.21'], request: getNextTaskRequestSchema, handle: getNextTask }),

  defineEndpoint({ name: 'tasks.create', versions: ['2.4', '2.13'], request: createTaskRequestSchema, handle: createTask }),
  defineEndpoint({ name: 'tasks.get_by_id', versions: ['2.4'], request: getTaskByIdRequestSchema, handle: getTaskById }),
  defineEndpoint({ name: 'tasks.get_all', versions: ['2.4', '2.14', '2.15', '2.26'], request: getAllTasksRequestSchema, handle: getAllTasks }),
  defineEndpoint({ name: 'tasks.started', versions: ['2.4'], request: changeStatusRequestSchema, handle: taskStarted }),
  defineEndpoint({ name: 'tasks.stopped', versions: ['2.4'], request: changeStatusRequestSchema, handle: taskStopped }),
  defineEndpoint({ name: 'tasks.completed', versions: ['2.4', '2.20'], request: changeStatusRequestSchema, handle: taskCompleted }),
  defineEndpoint({ name: 'tasks.failed', versions: ['2.4'], request: changeStatusRequestSchema, handle: taskFailed }),
  defineEndpoint({ name: 'tasks.edit', versions: ['2.4', '2.13'], request: editTaskRequestSchema, handle: editTask }),
  defineEndpoint({ name: 'tasks.delete', versions: ['2.4', '2.13', '2.21', '2.30'], request: deleteTaskRequestSchema, handle: deleteTask }),

  defineEndpoint({ name: 'projects.create', versions: ['2.4'], request: createProjectRequestSchema, handle: createProject }),
  defineEndpoint({ name: 'projects.get_all', versions: ['2.4', '2.13', '2.14', '2.15'], request: getAllProjectsRequestSchema, handle: getAllProjects }),
] as Endpoint[];

/**
 * A status_report that is parsed, validated and encoded like the real one but stores
 * nothing: the baseline of the ingest benchmark. Served only with WORKERS_BENCH_ROUTES=1.
 */
const benchEndpoints: Endpoint[] = [
  defineEndpoint({
    name: 'bench.status_report_dry_run',
    versions: ['2.4'],
    request: statusReportRequestSchema,
    handle: async (context, request) => {
      reportTime(request.timestamp, context.now);
      encodeSamples(request.machine_stats);
      return {};
    },
  }),
] as Endpoint[];

export const ENDPOINTS: ReadonlyMap<string, Endpoint> = new Map(
  [...endpoints, ...(process.env.WORKERS_BENCH_ROUTES === '1' ? benchEndpoints : [])].map((endpoint) => [
    endpoint.name,
    endpoint,
  ]),
);
