import { and, asc, eq, inArray, type SQL } from 'drizzle-orm';

import type { Executor } from './client';
import { matchesPattern } from './filters';
import { tasks } from './schema';

export type TaskRow = typeof tasks.$inferSelect;

export interface TaskFilter {
  companyId: string;
  ids?: string[];
  statuses?: string[];
  projectIds?: string[];
  /** A PostgreSQL regular expression matched case-insensitively against the name. */
  namePattern?: string;
}

export async function insertTask(db: Executor, row: typeof tasks.$inferInsert): Promise<void> {
  await db.insert(tasks).values(row);
}

/** Lists the tasks of a company that pass the filter, oldest first. */
export async function listTasks(db: Executor, filter: TaskFilter): Promise<TaskRow[]> {
  const conditions: (SQL | undefined)[] = [eq(tasks.companyId, filter.companyId)];
  if (filter.ids) {
    conditions.push(inArray(tasks.id, filter.ids));
  }
  if (filter.statuses) {
    conditions.push(inArray(tasks.status, filter.statuses));
  }
  if (filter.projectIds) {
    conditions.push(inArray(tasks.projectId, filter.projectIds));
  }
  if (filter.namePattern !== undefined) {
    conditions.push(matchesPattern(tasks.name, filter.namePattern));
  }

  return db
    .select()
    .from(tasks)
    .where(and(...conditions))
    .orderBy(asc(tasks.created), asc(tasks.id));
}

export async function getTask(db: Executor, companyId: string, taskId: string): Promise<TaskRow | undefined> {
  const [row] = await db
    .select()
    .from(tasks)
    .where(and(eq(tasks.companyId, companyId), eq(tasks.id, taskId)));

  return row;
}

/**
 * Updates a task only while its status is still `expectedStatus`, so that two status
 * changes racing each other cannot both apply. Returns false when nothing was updated.
 */
export async function updateTask(
  db: Executor,
  key: { companyId: string; taskId: string; expectedStatus?: string },
  changes: Partial<Omit<typeof tasks.$inferInsert, 'companyId' | 'id'>>,
): Promise<boolean> {
  const updated = await db
    .update(tasks)
    .set(changes)
    .where(
      and(
        eq(tasks.companyId, key.companyId),
        eq(tasks.id, key.taskId),
        key.expectedStatus === undefined ? undefined : eq(tasks.status, key.expectedStatus),
      ),
    )
    .returning({ id: tasks.id });

  return updated.length > 0;
}

/** Deletes a task and its queue entries; returns false when the task does not exist. */
export async function deleteTask(db: Executor, companyId: string, taskId: string): Promise<boolean> {
  const deleted = await db
    .delete(tasks)
    .where(and(eq(tasks.companyId, companyId), eq(tasks.id, taskId)))
    .returning({ id: tasks.id });

  return deleted.length > 0;
}
