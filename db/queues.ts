import { and, asc, eq, inArray, sql, type SQL } from 'drizzle-orm';

import { parseJson, queryRows, type Executor } from './client';
import { isoText, matchesPattern, tagConditions } from './filters';
import { queueEntries, queues, tasks } from './schema';

export interface QueueEntryRow {
  task: string;
  /** ISO 8601 UTC text. */
  added: string;
}

export type QueueRow = typeof queues.$inferSelect & { entries: QueueEntryRow[] };

export interface QueueFilter {
  companyId: string;
  ids?: string[];
  /** A PostgreSQL regular expression matched case-insensitively against the name. */
  namePattern?: string;
  tags?: string[];
  systemTags?: string[];
}

/** The entries of the queue in the outer query, first out first, as a JSON array. */
const entriesColumn = sql<QueueEntryRow[] | string>`coalesce((
  SELECT json_agg(json_build_object('task', ${queueEntries.taskId}, 'added', ${isoText(queueEntries.added)}) ORDER BY ${queueEntries.position})
  FROM ${queueEntries}
  WHERE ${queueEntries.companyId} = ${queues.companyId} AND ${queueEntries.queueId} = ${queues.id}
), '[]'::json)`;

export async function insertQueue(db: Executor, row: typeof queues.$inferInsert): Promise<void> {
  await db.insert(queues).values(row);
}

/** Lists the queues of a company that pass the filter, with their entries, oldest first. */
export async function listQueues(db: Executor, filter: QueueFilter): Promise<QueueRow[]> {
  const conditions: (SQL | undefined)[] = [
    eq(queues.companyId, filter.companyId),
    ...tagConditions(queues.tags, filter.tags),
    ...tagConditions(queues.systemTags, filter.systemTags),
  ];
  if (filter.ids) {
    conditions.push(inArray(queues.id, filter.ids));
  }
  if (filter.namePattern !== undefined) {
    conditions.push(matchesPattern(queues.name, filter.namePattern));
  }

  const rows = await db
    .select({
      companyId: queues.companyId,
      id: queues.id,
      name: queues.name,
      displayName: queues.displayName,
      userId: queues.userId,
      created: queues.created,
      lastUpdate: queues.lastUpdate,
      tags: queues.tags,
      systemTags: queues.systemTags,
      metadata: queues.metadata,
      entries: entriesColumn,
    })
    .from(queues)
    .where(and(...conditions))
    .orderBy(asc(queues.created), asc(queues.id));

  return rows.map((row) => ({ ...row, entries: parseJson(row.entries) }));
}

export async function getQueue(db: Executor, companyId: string, queueId: string): Promise<QueueRow | undefined> {
  const [row] = await listQueues(db, { companyId, ids: [queueId] });

  return row;
}

/** Returns which of `ids` name no queue of the company, in request order. */
export async function unknownQueueIds(db: Executor, companyId: string, ids: string[]): Promise<string[]> {
  if (ids.length === 0) {
    return [];
  }

  const found = await db
    .select({ id: queues.id })
    .from(queues)
    .where(and(eq(queues.companyId, companyId), inArray(queues.id, ids)));
  const known = new Set(found.map((row) => row.id));

  return [...new Set(ids)].filter((id) => !known.has(id));
}

/** Updates a queue's fields; returns false when the queue does not exist. */
export async function updateQueue(
  db: Executor,
  companyId: string,
  queueId: string,
  changes: Partial<Pick<typeof queues.$inferInsert, 'name' | 'displayName' | 'tags' | 'systemTags' | 'metadata'>> & { lastUpdate: Date },
): Promise<boolean> {
  const updated = await db
    .update(queues)
    .set(changes)
    .where(and(eq(queues.companyId, companyId), eq(queues.id, queueId)))
    .returning({ id: queues.id });

  return updated.length > 0;
}

/** Deletes a queue and its entries; returns false when the queue does not exist. */
export async function deleteQueue(db: Executor, companyId: string, queueId: string): Promise<boolean> {
  const deleted = await db
    .delete(queues)
    .where(and(eq(queues.companyId, companyId), eq(queues.id, queueId)))
    .returning({ id: queues.id });

  return deleted.length > 0;
}

/** Lists the queues of a company with the system tag `default`. */
export async function listDefaultQueues(db: Executor, companyId: string): Promise<{ id: string; name: string }[]> {
  return db
    .select({ id: queues.id, name: queues.name })
    .from(queues)
    .where(and(eq(queues.companyId, companyId), sql`'default' = ANY(${queues.systemTags})`))
    .orderBy(asc(queues.created), asc(queues.id));
}

/** Statuses from which adding a task to a queue makes it `queued`. */
const ENQUEUEABLE_STATUSES = ['created', 'stopped', 'failed'];

/**
 * Appends a task to the end of a queue and records the queue on the task, whose status
 * becomes `queued` when it was created, stopped or failed. Returns false, adding
 * nothing, when the task is in the queue already.
 */
export async function appendEntry(
  db: Executor,
  entry: { companyId: string; queueId: string; taskId: string; now: Date },
): Promise<boolean> {
  const inserted = await db
    .insert(queueEntries)
    .values({ companyId: entry.companyId, queueId: entry.queueId, taskId: entry.taskId, added: entry.now })
    .onConflictDoNothing()
    .returning({ taskId: queueEntries.taskId });
  if (inserted.length === 0) {
    return false;
  }

  await db
    .update(tasks)
    .set({ queueId: entry.queueId, lastUpdate: entry.now })
    .where(and(eq(tasks.companyId, entry.companyId), eq(tasks.id, entry.taskId)));
  await db
    .update(tasks)
    .set({ status: 'queued', statusChanged: entry.now, statusReason: null, statusMessage: null })
    .where(and(eq(tasks.companyId, entry.companyId), eq(tasks.id, entry.taskId), inArray(tasks.status, ENQUEUEABLE_STATUSES)));
  await touchQueue(db, entry.companyId, entry.queueId, entry.now);

  return true;
}

/**
 * Removes a task's entry from a queue; returns the number of entries removed (0 or 1).
 * A queued task that is in no other queue then returns to `created`.
 */
export async function removeEntry(
  db: Executor,
  entry: { companyId: string; queueId: string; taskId: string; now: Date },
): Promise<number> {
  const removed = await db
    .delete(queueEntries)
    .where(
      and(
        eq(queueEntries.companyId, entry.companyId),
        eq(queueEntries.queueId, entry.queueId),
        eq(queueEntries.taskId, entry.taskId),
      ),
    )
    .returning({ taskId: queueEntries.taskId });
  if (removed.length > 0) {
    await db
      .update(tasks)
      .set({ status: 'created', statusChanged: entry.now, lastUpdate: entry.now })
      .where(
        and(
          eq(tasks.companyId, entry.companyId),
          eq(tasks.id, entry.taskId),
          eq(tasks.status, 'queued'),
          sql`NOT EXISTS (SELECT 1 FROM ${queueEntries} WHERE ${queueEntries.companyId} = ${entry.companyId} AND ${queueEntries.taskId} = ${entry.taskId})`,
        ),
      );
    await touchQueue(db, entry.companyId, entry.queueId, entry.now);
  }

  return removed.length;
}

/**
 * Removes and returns the first entry of a queue, or undefined when the queue is empty
 * (or, with `taskId`, when its first entry is another task). Concurrent callers skip an
 * entry another caller is taking, so no two get the same entry.
 */
export async function popFirstEntry(
  db: Executor,
  request: { companyId: string; queueId: string; taskId?: string; now: Date },
): Promise<QueueEntryRow | undefined> {
  const onlyTask = request.taskId === undefined ? sql`` : sql`AND ${queueEntries.taskId} = ${request.taskId}`;
  const rows = await queryRows<QueueEntryRow>(db, sql`
    WITH first AS (
      SELECT ${queueEntries.taskId} AS task_id
      FROM ${queueEntries}
      WHERE ${queueEntries.companyId} = ${request.companyId} AND ${queueEntries.queueId} = ${request.queueId}
      ORDER BY ${queueEntries.position}
      LIMIT 1
      FOR UPDATE SKIP LOCKED
    )
    DELETE FROM ${queueEntries}
    WHERE ${queueEntries.companyId} = ${request.companyId}
      AND ${queueEntries.queueId} = ${request.queueId}
      AND ${queueEntries.taskId} IN (SELECT task_id FROM first)
      ${onlyTask}
    RETURNING ${queueEntries.taskId} AS task, ${isoText(queueEntries.added)} AS added`);
  if (rows.length === 0) {
    return undefined;
  }

  await touchQueue(db, request.companyId, request.queueId, request.now);

  return { task: rows[0].task, added: rows[0].added };
}

async function touchQueue(db: Executor, companyId: string, queueId: string, now: Date): Promise<void> {
  await db
    .update(queues)
    .set({ lastUpdate: now })
    .where(and(eq(queues.companyId, companyId), eq(queues.id, queueId)));
}
