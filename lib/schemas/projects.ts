import { z } from 'zod';

import { nameSchema, namePatternSchema, onlyFieldsSchema } from './catalog-common';

/** Request and response shapes of the `projects.*` endpoints. */

export const createProjectRequestSchema = z.object({
  name: nameSchema,
  description: z.string().optional(),
});
export type CreateProjectRequest = z.infer<typeof createProjectRequestSchema>;

export const getAllProjectsRequestSchema = z.object({
  id: z.array(z.string()).optional(),
  name: namePatternSchema.optional(),
  only_fields: onlyFieldsSchema.optional(),
  // Accepted because clients send them, and ignored: every project is listed at once.
  page: z.int().min(0).optional(),
  page_size: z.int().min(1).optional(),
  order_by: z.array(z.string()).optional(),
  search_hidden: z.boolean().optional(),
});
export type GetAllProjectsRequest = z.infer<typeof getAllProjectsRequestSchema>;

export const projectSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().optional(),
  user: z.string(),
  company: z.string(),
  created: z.string(),
});
export type Project = z.infer<typeof projectSchema>;

export const createProjectResponseSchema = z.object({ id: z.string() });

export const getAllProjectsResponseSchema = z.object({
  projects: z.array(projectSchema.partial().extend({ id: z.string() })),
});
export type GetAllProjectsResponse = z.infer<typeof getAllProjectsResponseSchema>;
