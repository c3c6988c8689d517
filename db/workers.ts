import { and, asc, count, eq, gt, gte, lte, sql, type SQL } from 'drizzle-orm';

import { parseJson, type Executor } from './client';
import { tagConditions } from './filters';
import { companies, projects, tasks, users, workers } from './schema';

export interface WorkerKey {
  companyId: string;
  userId: string;
  workerId: string;
}

export interface WorkerFilter {
  companyId: string;
  now: Date;
  /** Seconds; workers whose last activity is older are left out. 0 or undefined: no filter. */
  lastSeen?: number;
  /** Tags a worker must have one of; a `-` prefix excludes workers having the tag. */
  tags?: string[];
  systemTags?: string[];
  /** A LIKE pattern with `\` as the escape character (see globToLike). */
  likePattern?: string;
}

/** A queue a worker refers to, as the listing query builds it. */
export interface QueueSummary {
  id: string;
  name: string;
  display_name: string | null;
  num_tasks: number;
  next_task: { id: string; name: string } | null;
}

export type WorkerRow = typeof workers.$inferSelect & {
  userName: string | null;
  companyName: string | null;
  /** Null when the worker runs no task or its task was deleted; so are the next two. */
  taskName: string | null;
  taskLastIteration: number | null;
  /** Milliseconds the task has spent in progress in its current or last run. */
  taskRunningTime: number | null;
  projectName: string | null;
  queue: QueueSummary | null;
  /** The summaries of `queues`, in order; a queue that is gone has its id only. */
  queueSummaries: (QueueSummary | { id: string })[];
};

/**
 * Inserts or replaces a worker entry: register clears task, project and queue and
 * restarts the expiry. Entries of the company that have expired are deleted first.
 */
export async function upsertWorker(
  db: Executor,
  entry: WorkerKey & {
    ip: string;
    now: Date;
    timeoutSeconds: number;
    queues: string[];
    tags: string[];
    systemTags: string[];
  },
): Promise<void> {
  await db.delete(workers).where(and(eq(workers.companyId, entry.companyId), lte(workers.expiresAt, entry.now)));

  const values = {
    companyId: entry.companyId,
    userId: entry.userId,
    workerId: entry.workerId,
    ip: entry.ip,
    registerTime: entry.now,
    lastActivityTime: entry.now,
    lastReportTime: null,
    timeoutSeconds: entry.timeoutSeconds,
    expiresAt: new Date(entry.now.getTime() + entry.timeoutSeconds * 1000),
    taskId: null,
    projectId: null,
    queueId: null,
    queues: entry.queues,
    tags: entry.tags,
    systemTags: entry.systemTags,
  };
  const { companyId, userId, workerId, ...replaced } = values;
  await db
    .insert(workers)
    .values(values)
    .onConflictDoUpdate({ target: [workers.companyId, workers.userId, workers.workerId], set: replaced });
}

/** Deletes a live worker entry; returns false when there is none. */
export async function deleteLiveWorker(db: Executor, key: WorkerKey & { now: Date }): Promise<boolean> {
  const deleted = await db
    .delete(workers)
    .where(and(matchesKey(key), gt(workers.expiresAt, key.now)))
    .returning({ workerId: workers.workerId });

  return deleted.length > 0;
}

/** Returns whether the worker is registered and has not expired at `now`. */
export async function isLiveWorker(db: Executor, key: WorkerKey & { now: Date }): Promise<boolean> {
  const rows = await db
    .select({ workerId: workers.workerId })
    .from(workers)
    .where(and(matchesKey(key), gt(workers.expiresAt, key.now)))
    .limit(1);

  return rows.length > 0;
}

/**
 * Builds the SQL of the queue with id `queueId` of the outer worker's company as JSON: id,
 * name, display name, its number of entries and its first task. NULL when there is no such queue.
 */
function queueSummary(queueId: SQL): SQL {
  return sql`(
    SELECT json_build_object(
      'id', q.id,
      'name', q.name,
      'display_name', q.display_name,
      'num_tasks', (SELECT count(*) FROM queue_entries e WHERE e.company_id = q.company_id AND e.queue_id = q.id),
      'next_task', (
        SELECT json_build_object('id', t.id, 'name', t.name)
        FROM queue_entries e JOIN tasks t ON t.company_id = e.company_id AND t.id = e.task_id
        WHERE e.company_id = q.company_id AND e.queue_id = q.id
        ORDER BY e.position
        LIMIT 1
      )
    )
    FROM queues q
    WHERE q.company_id = ${workers.companyId} AND q.id = ${queueId}
  )`;
}

/**
 * Lists the live workers of a company that pass the filter, ordered by worker id, with
 * the names of their task, project and queues. One statement serves the whole list, so
 * its cost does not grow with a query per worker.
 */
export async function listWorkers(db: Executor, filter: WorkerFilter): Promise<WorkerRow[]> {
  const now = filter.now.toISOString();
  const rows = await db
    .select({
      companyId: workers.companyId,
      userId: workers.userId,
      workerId: workers.workerId,
      ip: workers.ip,
      registerTime: workers.registerTime,
      lastActivityTime: workers.lastActivityTime,
      lastReportTime: workers.lastReportTime,
      timeoutSeconds: workers.timeoutSeconds,
      expiresAt: workers.expiresAt,
      taskId: workers.taskId,
      projectId: workers.projectId,
      queueId: workers.queueId,
      queues: workers.queues,
      tags: workers.tags,
      systemTags: workers.systemTags,
      userName: users.name,
      companyName: companies.name,
      taskName: tasks.name,
      taskLastIteration: tasks.lastIteration,
      taskRunningTime: sql<number | null>`(${tasks.activeDurationMs} + CASE WHEN ${tasks.inProgressSince} IS NULL THEN 0
        ELSE greatest(0, floor(extract(epoch FROM (${now}::timestamptz - ${tasks.inProgressSince})) * 1000)) END)::float8`,
      projectName: projects.name,
      queue: sql<QueueSummary | string | null>`${queueSummary(sql`${workers.queueId}`)}`,
      queueSummaries: sql<(QueueSummary | { id: string })[] | string>`(
        SELECT coalesce(json_agg(coalesce(${queueSummary(sql`listed.id`)}, json_build_object('id', listed.id)) ORDER BY listed.position), '[]'::json)
        FROM unnest(${workers.queues}) WITH ORDINALITY AS listed(id, position)
      )`,
    })
    .from(workers)
    .leftJoin(users, and(eq(users.companyId, workers.companyId), eq(users.id, workers.userId)))
    .leftJoin(companies, eq(companies.id, workers.companyId))
    .leftJoin(tasks, and(eq(tasks.companyId, workers.companyId), eq(tasks.id, workers.taskId)))
    .leftJoin(projects, and(eq(projects.companyId, workers.companyId), eq(projects.id, workers.projectId)))
    .where(filterConditions(filter))
    .orderBy(asc(workers.workerId), asc(workers.userId));

  return rows.map((row) => ({
    ...row,
    taskRunningTime: row.taskRunningTime === null ? null : Number(row.taskRunningTime),
    queue: row.queue === null ? null : parseJson(row.queue),
    queueSummaries: parseJson(row.queueSummaries),
  }));
}

/** Counts the live workers of a company that pass the filter. */
export async function countWorkers(db: Executor, filter: WorkerFilter): Promise<number> {
  const [row] = await db.select({ count: count() }).from(workers).where(filterConditions(filter));

  return Number(row?.count ?? 0);
}

function matchesKey(key: WorkerKey): SQL | undefined {
  return and(
    eq(workers.companyId, key.companyId),
    eq(workers.userId, key.userId),
    eq(workers.workerId, key.workerId),
  );
}

function filterConditions(filter: WorkerFilter): SQL | undefined {
  const conditions: (SQL | undefined)[] = [
    eq(workers.companyId, filter.companyId),
    gt(workers.expiresAt, filter.now),
    ...tagConditions(workers.tags, filter.tags),
    ...tagConditions(workers.systemTags, filter.systemTags),
  ];
  if (filter.lastSeen) {
    // A window reaching before the epoch keeps every worker; clamping keeps the Date valid.
    const cutoff = Math.max(0, filter.now.getTime() - filter.lastSeen * 1000);
    conditions.push(gte(workers.lastActivityTime, new Date(cutoff)));
  }
  if (filter.likePattern !== undefined) {
    conditions.push(sql`${workers.workerId} LIKE ${filter.likePattern} ESCAPE '\\'`);
  }

  return and(...conditions);
}
