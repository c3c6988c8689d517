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
 * Request and response shapes of the `queues.*` endpoints. As for the workers endpoints,
 * each request schema contains every field of every schema version (2.4 to 2.30).
 */

/** One metadata item of a queue, as ClearML stores it under its key. */
const metadataItemSchema = z.object({
  key: z.string().optional(),
  type: z.string().optional(),
  value: z.string().optional(),
});

export const queueMetadataSchema = z.record(z.string(), metadataItemSchema);

export const createQueueRequestSchema = z.object({
  name: nameSchema,
  display_name: z.string().optional(),
  tags: tagListSchema.optional(),
  system_tags: tagListSchema.optional(),
  metadata: queueMetadataSchema.optional(),
});
export type CreateQueueRequest = z.infer<typeof createQueueRequestSchema>;

export const getAllQueuesRequestSchema = z.object({
  id: z.array(z.string()).optional(),
  name: namePatternSchema.optional(),
  tags: tagListSchema.optional(),
  system_tags: tagListSchema.optional(),
  only_fields: onlyFieldsSchema.optional(),
  /** Maximum entries returned per queue; the queue is not changed. */
  max_task_entries: z.int().min(0).optional(),
  ...ignoredListingFields,
});
export type GetAllQueuesRequest = z.infer<typeof getAllQueuesRequestSchema>;

export const getQueueByIdRequestSchema = z.object({
  queue: objectIdSchema,
  max_task_entries: z.int().min(0).optional(),
});
export type GetQueueByIdRequest = z.infer<typeof getQueueByIdRequestSchema>;

export const updateQueueRequestSchema = z.object({
  queue: objectIdSchema,
  name: nameSchema.optional(),
  display_name: z.string().optional(),
  tags: tagListSchema.optional(),
  system_tags: tagListSchema.optional(),
  metadata: queueMetadataSchema.optional(),
});
export type UpdateQueueRequest = z.infer<typeof updateQueueRequestSchema>;

export const deleteQueueRequestSchema = z.object({
  queue: objectIdSchema,
  force: z.boolean().optional(),
});
export type DeleteQueueRequest = z.infer<typeof deleteQueueRequestSchema>;

export const queueTaskRequestSchema = z.object({
  queue: objectIdSchema,
  task: objectIdSchema,
});
export type QueueTaskRequest = z.infer<typeof queueTaskRequestSchema>;

export const getDefaultQueueRequestSchema = z.object({});

export const getNextTaskRequestSchema = z.object({
  queue: objectIdSchema,
  /** Also return the task's company and user (`task_info`), from 2.14. */
  get_task_info: z.boolean().optional(),
  /** Pop the first entry only when it is this task, from 2.21. */
  task: z.string().optional(),
});
export type GetNextTaskRequest = z.infer<typeof getNextTaskRequestSchema>;

// ---- responses ----

export const queueEntrySchema = z.object({ task: z.string(), added: z.string() });
export type QueueEntry = z.infer<typeof queueEntrySchema>;

export const queueSchema = z.object({
  id: z.string(),
  name: z.string(),
  display_name: z.string().optional(),
  user: z.string(),
  company: z.string(),
  created: z.string(),
  last_update: z.string(),
  tags: z.array(z.string()),
  system_tags: z.array(z.string()),
  entries: z.array(queueEntrySchema),
  metadata: queueMetadataSchema,
});
export type Queue = z.infer<typeof queueSchema>;

export const createQueueResponseSchema = z.object({ id: z.string() });

/** get_all with only_fields returns part of each queue, so every field but id is optional here. */
export const getAllQueuesResponseSchema = z.object({
  queues: z.array(queueSchema.partial().extend({ id: z.string() })),
});
export type GetAllQueuesResponse = z.infer<typeof getAllQueuesResponseSchema>;

export const getQueueByIdResponseSchema = z.object({ queue: queueSchema });

export const updateQueueResponseSchema = updateResponseSchema;

export const deleteQueueResponseSchema = z.object({ deleted: z.int() });
export const addTaskResponseSchema = z.object({ added: z.int() });
export const removeTaskResponseSchema = z.object({ removed: z.int() });
export const getDefaultQueueResponseSchema = z.object({ id: z.string(), name: z.string() });

export const getNextTaskResponseSchema = z.object({
  entry: queueEntrySchema.optional(),
  task_info: z.object({ company: z.string(), user: z.string() }).optional(),
});
export type GetNextTaskResponse = z.infer<typeof getNextTaskResponseSchema>;
