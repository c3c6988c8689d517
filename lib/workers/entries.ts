import type { WorkerRow } from '@/db/workers';
import type { WorkerEntry } from '@/lib/schemas/workers';

/** The worker entry key, in the format of the original server: `worker_<company>_<user>_<id>`. */
export function workerKey(companyId: string, userId: string, workerId: string): string {
  return `worker_${companyId}_${userId}_${workerId}`;
}

/** Converts a stored worker row to the API's worker object; fields with no value are omitted. */
export function toWorkerEntry(row: WorkerRow): WorkerEntry {
  const entry: WorkerEntry = {
    id: row.workerId,
    key: workerKey(row.companyId, row.userId, row.workerId),
    user: row.userName === null ? { id: row.userId } : { id: row.userId, name: row.userName },
    company: row.companyName === null ? { id: row.companyId } : { id: row.companyId, name: row.companyName },
    register_time: row.registerTime.toISOString(),
    last_activity_time: row.lastActivityTime.toISOString(),
    queues: row.queues.map((id) => ({ id })),
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
    entry.task = { id: row.taskId };
  }
  if (row.projectId !== null) {
    entry.project = { id: row.projectId };
  }
  if (row.queueId !== null) {
    entry.queue = { id: row.queueId };
  }

  return entry;
}
