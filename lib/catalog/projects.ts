import { insertProject, listProjects, type ProjectRow } from '@/db/projects';
import type { CallContext } from '@/lib/api/endpoint';
import type { CreateProjectRequest, GetAllProjectsRequest, GetAllProjectsResponse, Project } from '@/lib/schemas/projects';

import { newObjectId } from './ids';
import { withNameFilter } from './name-filter';
import { projectFields } from './projection';

function toProject(row: ProjectRow): Project {
  const project: Project = {
    id: row.id,
    name: row.name,
    user: row.userId,
    company: row.companyId,
    created: row.created.toISOString(),
  };
  if (row.description !== null) {
    project.description = row.description;
  }

  return project;
}

/** projects.create: a new project of the caller's company. Names may repeat. */
export async function createProject(context: CallContext, request: CreateProjectRequest): Promise<{ id: string }> {
  const id = newObjectId();
  await insertProject(context.db, {
    companyId: context.companyId,
    id,
    name: request.name,
    description: request.description ?? null,
    userId: context.userId,
    created: context.now,
  });
  context.log.info({ project: id }, 'project created');

  return { id };
}

/** projects.get_all: the company's projects that pass the filters, oldest first. */
export async function getAllProjects(context: CallContext, request: GetAllProjectsRequest): Promise<GetAllProjectsResponse> {
  const rows = await withNameFilter(request.name, (namePattern) =>
    listProjects(context.db, {
      companyId: context.companyId,
      ids: request.id && request.id.length > 0 ? request.id : undefined,
      namePattern,
    }),
  );

  return { projects: rows.map((row) => projectFields(toProject(row), request.only_fields)) };
}
