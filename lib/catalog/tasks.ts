import { listProjects } from '@/db/projects';
import type { tasks } from '@/db/schema';
import { deleteTask as deleteTaskRow, getTask, insertTask, listTasks, updateTask, type TaskRow } from '@/db/tasks';
import type { CallContext } from '@/lib/api/endpoint';
import { apiErrors } from '@/lib/api/errors';
import type { UpdateResponse } from '@/lib/schemas/catalog-common';
import type {
  ChangeStatusRequest,
  ChangeStatusResponse,
  CreateTaskRequest,
  DeleteTaskRequest,
  EditTaskRequest,
  GetAllTasksRequest,
  GetAllTasksResponse,
  GetTaskByIdRequest,
  Task,
  TaskStatus,
} from '@/lib/schemas/tasks';

import { newObjectId } from './ids';
import { withNameFilter } from './name-filter';
import { projectFields } from './projection';

/**
 * The statuses each status endpoint may leave, unless the call sets `force`. A task
 * starts only when created or queued, stops only when queued or running, completes only
 * after running, and fails only while running or stopped. A change to the status the task
 * already has is rejected too.
 */
export const ALLOWED_STATUS_CHANGES: Record<'in_progress' | 'stopped' | 'completed' | 'failed', readonly TaskStatus[]> = {
  in_progress: ['created', 'queued'],
  stopped: ['queued', 'in_progress'],
  completed: ['in_progress', 'stopped'],
  failed: ['in_progress', 'stopped'],
};

/** Milliseconds the task has spent in progress in its current or last run, at `now`. */
export function runningTimeMs(row: Pick<TaskRow, 'activeDurationMs' | 'inProgressSince'>, now: Date): number {
  const current = row.inProgressSince ? Math.max(0, now.getTime() - row.inProgressSince.getTime()) : 0;

  return row.activeDurationMs + current;
}

/** Converts a stored task to the API's task object; fields with no value are omitted. */
function toTask(row: TaskRow, now: Date): Task {
  const task: Task = {
    id: row.id,
    name: row.name,
    type: row.type as Task['type'],
    status: row.status as TaskStatus,
    status_changed: row.statusChanged.toISOString(),
    user: row.userId,
    company: row.companyId,
    created: row.created.toISOString(),
    last_update: row.lastUpdate.toISOString(),
    last_iteration: row.lastIteration,
    active_duration: Math.floor(runningTimeMs(row, now) / 1000),
    execution: row.queueId === null ? {} : { queue: row.queueId },
    tags: row.tags,
    system_tags: row.systemTags,
  };
  if (row.statusReason !== null) task.status_reason = row.statusReason;
  if (row.statusMessage !== null) task.status_message = row.statusMessage;
  if (row.projectId !== null) task.project = row.projectId;
  if (row.comment !== null) task.comment = row.comment;
  if (row.started !== null) task.started = row.started.toISOString();
  if (row.completed !== null) task.completed = row.completed.toISOString();

  return task;
}

async function requireTask(context: CallContext, taskId: string): Promise<TaskRow> {
  const row = await getTask(context.db, context.companyId, taskId);
  if (!row) {
    throw apiErrors.invalidTaskId(taskId, context.companyId);
  }

  return row;
}

/** tasks.create: a new task in status `created`; 401 when the project does not exist. */
export async function createTask(context: CallContext, request: CreateTaskRequest): Promise<{ id: string }> {
  if (request.project) {
    const [project] = await listProjects(context.db, { companyId: context.companyId, ids: [request.project] });
    if (!project) {
      throw apiErrors.invalidProjectId(request.project, context.companyId);
    }
  }

  const id = newObjectId();
  await insertTask(context.db, {
    companyId: context.companyId,
    id,
    name: request.name,
    type: request.type,
    status: 'created',
    projectId: request.project || null,
    userId: context.userId,
    comment: request.comment ?? null,
    created: context.now,
    statusChanged: context.now,
    lastUpdate: context.now,
    tags: request.tags ?? [],
    systemTags: request.system_tags ?? [],
  });
  context.log.info({ task: id }, 'task created');

  return { id };
}

/** tasks.get_by_id: one task; 101 when the company has no task of that id. */
export async function getTaskById(context: CallContext, request: GetTaskByIdRequest): Promise<{ task: Task }> {
  return { task: toTask(await requireTask(context, request.task), context.now) };
}

/** tasks.get_all: the company's tasks that pass the filters, oldest first. */
export async function getAllTasks(context: CallContext, request: GetAllTasksRequest): Promise<GetAllTasksResponse> {
  const rows = await withNameFilter(request.name, (namePattern) =>
    listTasks(context.db, {
      companyId: context.companyId,
      ids: request.id && request.id.length > 0 ? request.id : undefined,
      statuses: request.status && request.status.length > 0 ? request.status : undefined,
      projectIds: request.project && request.project.length > 0 ? request.project : undefined,
      namePattern,
    }),
  );

  return { tasks: rows.map((row) => projectFields(toTask(row, context.now), request.only_fields)) };
}

/**
 * Moves a task to `newStatus` after checking ALLOWED_STATUS_CHANGES (skipped with
 * `force`), keeping the running time: entering in_progress starts a new run, leaving it
 * adds the run to `active_duration_ms`.
 */
async function changeStatus(
  context: CallContext,
  request: ChangeStatusRequest,
  newStatus: keyof typeof ALLOWED_STATUS_CHANGES,
): Promise<UpdateResponse> {
  const row = await requireTask(context, request.task);
  const current = row.status as TaskStatus;
  if (!request.force) {
    if (current === newStatus) {
      throw apiErrors.invalidTaskStatus(current, newStatus, 'Task already in requested status');
    }
    if (!ALLOWED_STATUS_CHANGES[newStatus].includes(current)) {
      throw apiErrors.invalidTaskStatus(current, newStatus, 'Invalid status change');
    }
  }

  const now = context.now;
  const changes: Partial<typeof tasks.$inferInsert> = {
    status: newStatus,
    statusReason: request.status_reason ?? null,
    statusMessage: request.status_message ?? null,
    statusChanged: now,
    lastUpdate: now,
  };
  if (newStatus === 'in_progress') {
    if (current !== 'in_progress') {
      changes.started = now;
      changes.completed = null;
      changes.activeDurationMs = 0;
      changes.inProgressSince = now;
    }
  } else {
    changes.completed = now;
    if (row.inProgressSince) {
      changes.activeDurationMs = runningTimeMs(row, now);
      changes.inProgressSince = null;
    }
  }

  const updated = await updateTask(context.db, { companyId: context.companyId, taskId: row.id, expectedStatus: current }, changes);
  if (!updated) {
    throw apiErrors.failedChangingTaskStatus(row.id, current, newStatus);
  }
  context.log.info({ task: row.id, from: current, to: newStatus, forced: request.force ?? false }, 'task status changed');

  const fields: Record<string, unknown> = {
    status: newStatus,
    status_reason: request.status_reason ?? '',
    status_message: request.status_message ?? '',
    status_changed: now.toISOString(),
    last_update: now.toISOString(),
  };
  if (changes.started) fields.started = now.toISOString();
  if (changes.completed) fields.completed = now.toISOString();

  return { updated: 1, fields };
}

export async function taskStarted(context: CallContext, request: ChangeStatusRequest): Promise<ChangeStatusResponse> {
  const result = await changeStatus(context, request, 'in_progress');

  return { ...result, started: result.updated };
}

export const taskStopped = (context: CallContext, request: ChangeStatusRequest) => changeStatus(context, request, 'stopped');
export const taskCompleted = (context: CallContext, request: ChangeStatusRequest) => changeStatus(context, request, 'completed');
export const taskFailed = (context: CallContext, request: ChangeStatusRequest) => changeStatus(context, request, 'failed');

/**
 * tasks.edit: changes name, last_iteration, comment or tags, in any status. (ClearML
 * edits only created tasks unless forced; here daemons and operators also set
 * last_iteration of a running task, so no status rule applies.)
 */
export async function editTask(context: CallContext, request: EditTaskRequest): Promise<UpdateResponse> {
  const fields: Record<string, unknown> = {};
  if (request.name !== undefined) fields.name = request.name;
  if (request.last_iteration !== undefined) fields.last_iteration = request.last_iteration;
  if (request.comment !== undefined) fields.comment = request.comment;
  if (request.tags !== undefined) fields.tags = request.tags;
  if (request.system_tags !== undefined) fields.system_tags = request.system_tags;

  const updated = await updateTask(
    context.db,
    { companyId: context.companyId, taskId: request.task },
    {
      name: request.name,
      lastIteration: request.last_iteration,
      comment: request.comment,
      tags: request.tags,
      systemTags: request.system_tags,
      lastUpdate: context.now,
    },
  );
  if (!updated) {
    throw apiErrors.invalidTaskId(request.task, context.companyId);
  }
  fields.last_update = context.now.toISOString();

  return { updated: 1, fields };
}

/**
 * tasks.delete: removes a task and its queue entries. A task that is not `created` is
 * kept with 123 unless `force`, as in ClearML. Workers that name the task keep listing
 * it by id alone.
 */
export async function deleteTask(context: CallContext, request: DeleteTaskRequest): Promise<{ deleted: boolean }> {
  const row = await requireTask(context, request.task);
  if (row.status !== 'created' && !request.force) {
    throw apiErrors.taskCannotBeDeleted(row.id, row.status);
  }

  await deleteTaskRow(context.db, context.companyId, row.id);
  context.log.info({ task: row.id, status: row.status }, 'task deleted');

  return { deleted: true };
}
