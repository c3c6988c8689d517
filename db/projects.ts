import { and, asc, eq, inArray, type SQL } from 'drizzle-orm';

import type { Executor } from './client';
import { matchesPattern } from './filters';
import { projects } from './schema';

export type ProjectRow = typeof projects.$inferSelect;

export interface ProjectFilter {
  companyId: string;
  ids?: string[];
  /** A PostgreSQL regular expression matched case-insensitively against the name. */
  namePattern?: string;
}

export async function insertProject(db: Executor, row: typeof projects.$inferInsert): Promise<void> {
  await db.insert(projects).values(row);
}

/** Lists the projects of a company that pass the filter, oldest first. */
export async function listProjects(db: Executor, filter: ProjectFilter): Promise<ProjectRow[]> {
  const conditions: (SQL | undefined)[] = [eq(projects.companyId, filter.companyId)];
  if (filter.ids) {
    conditions.push(inArray(projects.id, filter.ids));
  }
  if (filter.namePattern !== undefined) {
    conditions.push(matchesPattern(projects.name, filter.namePattern));
  }

  return db
    .select()
    .from(projects)
    .where(and(...conditions))
    .orderBy(asc(projects.created), asc(projects.id));
}
