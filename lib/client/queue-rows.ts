import type { GetAllQueuesResponse } from '@/lib/schemas/queues';
import type { GetAllTasksResponse } from '@/lib/schemas/tasks';
import type { GetAllResponse } from '@/lib/schemas/workers';

/** One row of the queues page. */
export interface QueueRow {
  id: string;
  name: string;
  displayName?: string;
  /** Number of entries waiting in the queue. */
  length: number;
  /** The first entry's task; `name` is missing when the task is not found. */
  nextTask?: { id: string; name?: string };
  /** The live workers listening on the queue: id, and the key that distinguishes users' workers of one id. */
  workers: { id: string; key: string }[];
}

/** Returns the ids of the first task of each queue, without repeats. */
export function nextTaskIds(queues: GetAllQueuesResponse): string[] {
  return [...new Set(queues.queues.flatMap((queue) => (queue.entries?.[0] ? [queue.entries[0].task] : [])))];
}

/**
 * Joins the queues with the names of their next tasks and with the workers that listen
 * on them, sorted by queue name (then id, as names may repeat).
 */
export function buildQueueRows(queues: GetAllQueuesResponse, nextTasks: GetAllTasksResponse, workers: GetAllResponse): QueueRow[] {
  const taskNames = new Map(nextTasks.tasks.map((task) => [task.id, task.name]));

  const rows = queues.queues.map((queue): QueueRow => {
    const first = queue.entries?.[0];
    const listening = workers.workers
      .filter((worker) => worker.queues.some((listened) => listened.id === queue.id))
      .map((worker) => ({ id: worker.id, key: worker.key }))
      .sort((left, right) => left.id.localeCompare(right.id));

    return {
      id: queue.id,
      name: queue.name ?? queue.id,
      ...(queue.display_name ? { displayName: queue.display_name } : {}),
      length: queue.entries?.length ?? 0,
      ...(first ? { nextTask: { id: first.task, name: taskNames.get(first.task) } } : {}),
      workers: listening,
    };
  });

  return rows.sort((left, right) => left.name.localeCompare(right.name) || left.id.localeCompare(right.id));
}
