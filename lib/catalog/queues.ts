import { and, eq, inArray } from 'drizzle-orm';

import {
  appendEntry,
  deleteQueue as deleteQueueRow,
  getQueue,
  insertQueue,
  listDefaultQueues,
  listQueues,
  popFirstEntry,
  removeEntry,
  updateQueue as updateQueueRow,
  type QueueRow,
} from '@/db/queues';
import { tasks } from '@/db/schema';
import { getTask } from '@/db/tasks';
import type { CallContext } from '@/lib/api/endpoint';
import { apiErrors } from '@/lib/api/errors';
import type { UpdateResponse } from '@/lib/schemas/catalog-common';
import type {
  CreateQueueRequest,
  DeleteQueueRequest,
  GetAllQueuesRequest,
  GetAllQueuesResponse,
  GetNextTaskRequest,
  GetNextTaskResponse,
  GetQueueByIdRequest,
  Queue,
  QueueTaskRequest,
  UpdateQueueRequest,
} from '@/lib/schemas/queues';

import { newObjectId } from './ids';
import { withNameFilter } from './name-filter';
import { projectFields } from './projection';

/** Converts a stored queue to the API's queue object, keeping at most `maxEntries` entries. */
function toQueue(row: QueueRow, maxEntries?: number): Queue {
  const queue: Queue = {
    id: row.id,
    name: row.name,
    user: row.userId,
    company: row.companyId,
    created: row.created.toISOString(),
    last_update: row.lastUpdate.toISOString(),
    tags: row.tags,
    system_tags: row.systemTags,
    entries: maxEntries === undefined ? row.entries : row.entries.slice(0, maxEntries),
    metadata: (row.metadata ?? {}) as Queue['metadata'],
  };
  if (row.displayName !== null) {
    queue.display_name = row.displayName;
  }

  return queue;
}

/** Builds the key of the queue entry a request names, with the call's company and clock. */
function entryOf(context: CallContext, request: { queue: string; task?: string }) {
  return { companyId: context.companyId, queueId: request.queue, taskId: request.task, now: context.now };
}

async function requireQueue(context: CallContext, queueId: string): Promise<QueueRow> {
  const row = await getQueue(context.db, context.companyId, queueId);
  if (!row) {
    throw apiErrors.invalidQueueId(queueId, context.companyId);
  }

  return row;
}

/** queues.create: a new queue of the caller's company. Names may repeat. */
export async function createQueue(context: CallContext, request: CreateQueueRequest): Promise<{ id: string }> {
  const id = newObjectId();
  await insertQueue(context.db, {
    companyId: context.companyId,
    id,
    name: request.name,
    displayName: request.display_name ?? null,
    userId: context.userId,
    created: context.now,
    lastUpdate: context.now,
    tags: request.tags ?? [],
    systemTags: request.system_tags ?? [],
    metadata: request.metadata ?? {},
  });
  context.log.info({ queue: id }, 'queue created');

  return { id };
}

/** queues.get_all: the company's queues that pass the filters, oldest first. */
export async function getAllQueues(context: CallContext, request: GetAllQueuesRequest): Promise<GetAllQueuesResponse> {
  const rows = await withNameFilter(request.name, (namePattern) =>
    listQueues(context.db, {
      companyId: context.companyId,
      ids: request.id && request.id.length > 0 ? request.id : undefined,
      namePattern,
      tags: request.tags,
      systemTags: request.system_tags,
    }),
  );

  return { queues: rows.map((row) => projectFields(toQueue(row, request.max_task_entries), request.only_fields)) };
}

/** queues.get_by_id: one queue; 701 when the company has no queue of that id. */
export async function getQueueById(context: CallContext, request: GetQueueByIdRequest): Promise<{ queue: Queue }> {
  const row = await requireQueue(context, request.queue);

  return { queue: toQueue(row, request.max_task_entries) };
}

/** queues.update: changes name, display name, tags, system tags or metadata. */
export async function updateQueue(context: CallContext, request: UpdateQueueRequest): Promise<UpdateResponse> {
  const fields: Record<string, unknown> = {};
  if (request.name !== undefined) fields.name = request.name;
  if (request.display_name !== undefined) fields.display_name = request.display_name;
  if (request.tags !== undefined) fields.tags = request.tags;
  if (request.system_tags !== undefined) fields.system_tags = request.system_tags;
  if (request.metadata !== undefined) fields.metadata = request.metadata;

  const updated = await updateQueueRow(context.db, context.companyId, request.queue, {
    name: request.name,
    displayName: request.display_name,
    tags: request.tags,
    systemTags: request.system_tags,
    metadata: request.metadata,
    lastUpdate: context.now,
  });
  if (!updated) {
    throw apiErrors.invalidQueueId(request.queue, context.companyId);
  }
  fields.last_update = context.now.toISOString();

  return { updated: 1, fields };
}

/**
 * queues.delete: a queue with entries is rejected with 702 unless `force`. With force,
 * the entries go too, and their tasks that were queued return to `created`, as in ClearML.
 */
export async function deleteQueue(context: CallContext, request: DeleteQueueRequest): Promise<{ deleted: number }> {
  await context.db.transaction(async (transaction) => {
    const row = await getQueue(transaction, context.companyId, request.queue);
    if (!row) {
      throw apiErrors.invalidQueueId(request.queue, context.companyId);
    }
    if (row.entries.length > 0 && !request.force) {
      throw apiErrors.queueNotEmpty(request.queue);
    }

    const queuedTasks = row.entries.map((entry) => entry.task);
    if (queuedTasks.length > 0) {
      await transaction
        .update(tasks)
        .set({ status: 'created', statusChanged: context.now, lastUpdate: context.now, statusReason: `Queue ${request.queue} was deleted` })
        .where(and(eq(tasks.companyId, context.companyId), inArray(tasks.id, queuedTasks), eq(tasks.status, 'queued')));
    }
    await deleteQueueRow(transaction, context.companyId, request.queue);
  });
  context.log.info({ queue: request.queue, force: request.force ?? false }, 'queue deleted');

  return { deleted: 1 };
}

/**
 * queues.add_task: appends a task to a queue, making a created, stopped or failed task
 * `queued` (as ClearML's tasks.enqueue does; its add_task leaves the status alone).
 * 706 when the task is in that queue already.
 */
export async function addTask(context: CallContext, request: QueueTaskRequest): Promise<{ added: number }> {
  await requireQueue(context, request.queue);
  if (!(await getTask(context.db, context.companyId, request.task))) {
    throw apiErrors.invalidTaskId(request.task, context.companyId);
  }

  const added = await appendEntry(context.db, { ...entryOf(context, request), taskId: request.task });
  if (!added) {
    throw apiErrors.taskAlreadyQueued(request.task);
  }

  return { added: 1 };
}

/**
 * queues.remove_task: removes a task's entry, and a queued task in no other queue
 * returns to `created`. 703 when the task is not in the queue.
 */
export async function removeTask(context: CallContext, request: QueueTaskRequest): Promise<{ removed: number }> {
  await requireQueue(context, request.queue);
  const removed = await removeEntry(context.db, { ...entryOf(context, request), taskId: request.task });
  if (removed === 0) {
    throw apiErrors.taskNotQueued(request.task, request.queue, context.companyId);
  }

  return { removed };
}

/** queues.get_default: the queue with the system tag `default`; 707 when none, 708 when several. */
export async function getDefaultQueue(context: CallContext): Promise<{ id: string; name: string }> {
  const found = await listDefaultQueues(context.db, context.companyId);
  if (found.length === 0) {
    throw apiErrors.noDefaultQueue();
  }
  if (found.length > 1) {
    throw apiErrors.multipleDefaultQueues(found.map((queue) => queue.id));
  }

  return found[0];
}

/**
 * queues.get_next_task: removes the first entry of the queue and returns it, or `{}` when
 * the queue is empty. 701 when the queue does not exist.
 */
export async function getNextTask(context: CallContext, request: GetNextTaskRequest): Promise<GetNextTaskResponse> {
  const entry = await popFirstEntry(context.db, entryOf(context, request));
  if (!entry) {
    await requireQueue(context, request.queue);
    return {};
  }
  context.log.info({ queue: request.queue, task: entry.task }, 'task taken from queue');

  const response: GetNextTaskResponse = { entry };
  if (request.get_task_info) {
    const task = await getTask(context.db, context.companyId, entry.task);
    if (task) {
      response.task_info = { company: task.companyId, user: task.userId };
    }
  }

  return response;
}
