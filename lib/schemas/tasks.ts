import { z } from 'zod';

import {
  ignoredListingFields,
  nameSchema,
  namePatternSchema,
  objectIdSchema,
  onlyFieldsSchema,
  tagListSchema,
  updateResponseSchema,
} from './catalog-common';

/**
 * Request and response shapes of the `tasks.*` endpoints the service keeps: enough of a
 * task to name what a worker runs, for how long, and at which iteration.
 */

/** Task types of ClearML's schema. */
export const TASK_TYPES = [
  'training',
  'testing',
  'inference',
  'data_processing',
  'application',
  'monitor',
  'controller',
  'optimizer',
  'service',
  'qc',
  'custom',
] as const;

export const TASK_STATUSES = ['created', 'queued', 'in_progress', 'stopped', 'completed', 'failed'] as const;
export const taskStatusSchema = z.enum(TASK_STATUSES);
export type TaskStatus = z.infer<typeof taskStatusSchema>;

/** Largest iteration number accepted: the int4 column's maximum. */
export const MAX_ITERATION = 2_147_483_647;

export const createTaskRequestSchema = z.object({
  name: nameSchema,
  type: z.enum(TASK_TYPES),
  project: z.string().optional(),
  comment: z.string().optional(),
  tags: tagListSchema.optional(),
  system_tags: tagListSchema.optional(),
});
export type CreateTaskRequest = z.infer<typeof createTaskRequestSchema>;

export const getTaskByIdRequestSchema = z.object({ task: objectIdSchema });
export type GetTaskByIdRequest = z.infer<typeof getTaskByIdRequestSchema>;

export const getAllTasksRequestSchema = z.object({
  id: z.array(z.string()).optional(),
  name: namePatternSchema.optional(),
  status: z.array(taskStatusSchema).optional(),
  project: z.array(z.string()).optional(),
  only_fields: onlyFieldsSchema.optional(),
  ...ignoredListingFields,
});
export type GetAllTasksRequest = z.infer<typeof getAllTasksRequestSchema>;

/** tasks.started, stopped, completed and failed. `force` skips the status rules, as in ClearML. */
export const changeStatusRequestSchema = z.object({
  task: objectIdSchema,
  force: z.boolean().optional(),
  status_reason: z.string().optional(),
  status_message: z.string().optional(),
});
export type ChangeStatusRequest = z.infer<typeof changeStatusRequestSchema>;

export const editTaskRequestSchema = z.object({
  task: objectIdSchema,
  name: nameSchema.optional(),
  last_iteration: z.int().min(0).max(MAX_ITERATION, `must be at most ${MAX_ITERATION}`).optional(),
  comment: z.string().optional(),
  tags: tagListSchema.optional(),
  system_tags: tagListSchema.optional(),
  force: z.boolean().optional(),
});
export type EditTaskRequest = z.infer<typeof editTaskRequestSchema>;

export const deleteTaskRequestSchema = z.object({
  task: objectIdSchema,
  force: z.boolean().optional(),
});
export type DeleteTaskRequest = z.infer<typeof deleteTaskRequestSchema>;

// ---- responses ----

export const taskSchema = z.object({
  id: z.string(),
  name: z.string(),
  type: z.enum(TASK_TYPES),
  status: taskStatusSchema,
  status_reason: z.string().optional(),
  status_message: z.string().optional(),
  status_changed: z.string(),
  project: z.string().optional(),
  user: z.string(),
  company: z.string(),
  comment: z.string().optional(),
  created: z.string(),
  started: z.string().optional(),
  completed: z.string().optional(),
  last_update: z.string(),
  last_iteration: z.int(),
  /** Time spent in progress, in whole seconds, as ClearML's field. */
  active_duration: z.int(),
  execution: z.object({ queue: z.string().optional() }),
  tags: z.array(z.string()),
  system_tags: z.array(z.string()),
});
export type Task = z.infer<typeof taskSchema>;

export const createTaskResponseSchema = z.object({ id: z.string() });
export const getTaskByIdResponseSchema = z.object({ task: taskSchema });

/** get_all with only_fields returns part of each task, so every field but id is optional here. */
export const getAllTasksResponseSchema = z.object({
  tasks: z.array(taskSchema.partial().extend({ id: z.string() })),
});
export type GetAllTasksResponse = z.infer<typeof getAllTasksResponseSchema>;

export const changeStatusResponseSchema = updateResponseSchema.extend({ started: z.int().optional() });
export type ChangeStatusResponse = z.infer<typeof changeStatusResponseSchema>;

export const editTaskResponseSchema = updateResponseSchema;
export const deleteTaskResponseSchema = z.object({ deleted: z.boolean() });
