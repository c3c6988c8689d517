import { z } from 'zod';

import { ignoredListingFields, nameSchema, namePatternSchema, onlyFieldsSchema } from './catalog-common';

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
  ...ignoredListingFields,
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
