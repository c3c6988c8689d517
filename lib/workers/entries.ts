import type { QueueSummary, WorkerRow } from '@/db/workers';
import type { WorkerEntry } from '@/lib/schemas/workers';

/** The worker entry key, in the format of the original server: `worker_<company>_<user>_<id>`. */
export function workerKey(companyId: string, userId: string, workerId: string): string {
  return `worker_${companyId}_${userId}_${workerId}`;
}

type QueueObject = NonNullable<WorkerEntry['queue']>;

/** Converts a queue summary to the API's queue reference; a queue that is gone has its id only. */
function toQueueObject(summary: QueueSummary | { id: string }): QueueObject {
  if (!('name' in summary)) {
    return { id: summary.id };
  }

  const queue: QueueObject = { id: summary.id, name: summary.name, num_tasks: summary.num_tasks };
  if (summary.display_name !== null) {
    queue.display_name = summary.display_name;
  }
  if (summary.next_task !== null) {
    queue.next_task = summary.next_task;
  }

  return queue;
}

/**
 * Converts a stored worker row to the API's worker object; fields with no value are
 * omitted. A task, project or queue that was deleted is given by its id alone.
 */
export function toWorkerEntry(row: WorkerRow): WorkerEntry {
  const entry: WorkerEntry = {
    id: row.workerId,
    key: workerKey(row.companyId, row.userId, row.workerId),
    user: row.userName === null ? { id: row.userId } : { id: row.userId, name: row.userName },
    company: row.companyName === null ? { id: row.companyId } : { id: row.companyId, name: row.companyName },
    register_time: row.registerTime.toISOString(),
    last_activity_time: row.lastActivityTime.toISOString(),
    queues: row.queueSummaries.map(toQueueObject),
    tags: row.tags,
    system_tags: row.systemTags,
  };
  if (row.ip !== null) {
    entry.ip = row.ip;
  }
  if (row.lastReportTime !== null) {
    entry.last_report_time = row.lastReportTime.toISOString();
  }
  if (row.taskId !== null) {
    entry.task =
      row.taskName === null
        ? { id: row.taskId }
        : {
            id: row.taskId,
            name: row.taskName,
            running_time: row.taskRunningTime ?? 0,
            last_iteration: row.taskLastIteration ?? 0,
          };
  }
  if (row.projectId !== null) {
    entry.project = row.projectName === null ? { id: row.projectId } : { id: row.projectId, name: row.projectName };
  }
  if (row.queueId !== null) {
    entry.queue = toQueueObject(row.queue ?? { id: row.queueId });
  }

  return entry;
}
