import { and, arrayOverlaps, asc, count, eq, gt, gte, lte, not, sql, type SQL } from 'drizzle-orm';

import type { Executor } from './client';
import { companies, users, workers } from './schema';

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

export type WorkerRow = typeof workers.$inferSelect & { userName: string | null; companyName: string | null };

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

/** Lists the live workers of a company that pass the filter, ordered by worker id. */
export async function listWorkers(db: Executor, filter: WorkerFilter): Promise<WorkerRow[]> {
  return db
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
    })
    .from(workers)
    .leftJoin(users, and(eq(users.companyId, workers.companyId), eq(users.id, workers.userId)))
    .leftJoin(companies, eq(companies.id, workers.companyId))
    .where(filterConditions(filter))
    .orderBy(asc(workers.workerId), asc(workers.userId));
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

function tagConditions(column: typeof workers.tags | typeof workers.systemTags, tags: string[] | undefined): SQL[] {
  if (!tags || tags.length === 0) {
    return [];
  }

  const included = tags.filter((tag) => !tag.startsWith('-'));
  const excluded = tags.filter((tag) => tag.startsWith('-')).map((tag) => tag.slice(1));
  const conditions: SQL[] = [];
  if (included.length > 0) {
    conditions.push(arrayOverlaps(column, included));
  }
  if (excluded.length > 0) {
    conditions.push(not(arrayOverlaps(column, excluded)));
  }

  return conditions;
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
