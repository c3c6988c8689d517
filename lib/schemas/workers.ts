import { z } from './zod';

/**
 * Request and response shapes of the `workers.*` endpoints, shared by the route
 * dispatcher, the typed client the dashboard uses and the tests.
 *
 * Each request schema is the union of every field of every schema version
 * (2.4 to 2.30): the original server accepts all of them whatever the requested
 * version. Unknown fields are stripped, and `null` is removed before parsing, so
 * `null` means the same as an absent field.
 */

/** Maximum length of a worker id, in characters. */
export const WORKER_ID_MAX_LENGTH = 255;

/** Maximum length of a tag, system tag or queue id, in characters. */
export const TAG_MAX_LENGTH = 128;

/** Maximum entries in one tags, system_tags or queues list. */
export const MAX_LIST_ENTRIES = 100;

/** Maximum length of a task id, in characters. */
export const TASK_ID_MAX_LENGTH = 255;

/** Maximum length of get_all's and get_count's worker_pattern, in characters. */
export const WORKER_PATTERN_MAX_LENGTH = 255;

/** Maximum entries in get_stats' and get_metric_keys' worker_ids. */
export const MAX_WORKER_IDS = 1000;

/** Maximum series requested in one get_stats call. */
export const MAX_STAT_ITEMS = 50;

/** Maximum registration timeout in seconds: the int4 maximum, about 68 years. */
export const MAX_TIMEOUT_SECONDS = 2_147_483_647;

/** Latest from_date or to_date accepted, in seconds: 9999-12-31T23:59:59Z. */
export const MAX_DATE_SECONDS = 253_402_300_799;

/** Largest magnitude a sample value may have: samples are stored as float4. */
export const FLOAT4_MAX = 3.4028234663852886e38;

/** Maximum number of buckets one get_stats or get_activity_report series may span. */
export const MAX_BUCKETS_PER_SERIES = 100_000;

/**
 * Metric keys a daemon may report in `machine_stats` and request in get_stats. Stored
 * samples refer to a metric by its index here, so new keys are appended, never inserted.
 */
export const METRIC_KEYS = [
  'cpu_usage',
  'cpu_temperature',
  'memory_used',
  'memory_free',
  'gpu_usage',
  'gpu_temperature',
  'gpu_fraction',
  'gpu_memory_free',
  'gpu_memory_used',
  'network_tx',
  'network_rx',
  'disk_free_home',
  'disk_free_temp',
  'disk_read',
  'disk_write',
] as const;

export const metricKeySchema = z.enum(METRIC_KEYS);
export type MetricKey = z.infer<typeof metricKeySchema>;

export const aggregationSchema = z.enum(['avg', 'min', 'max']);
export type Aggregation = z.infer<typeof aggregationSchema>;

// Control characters (C0, DEL and C1) are rejected in ids: they break logs and terminals.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

export const workerIdSchema = z
  .string()
  .min(1, 'must be a non-empty string')
  .max(WORKER_ID_MAX_LENGTH, `must be at most ${WORKER_ID_MAX_LENGTH} characters`)
  .refine((id) => !CONTROL_CHARACTERS.test(id), 'must not contain control characters');

const tagSchema = z.string().max(TAG_MAX_LENGTH, `must be at most ${TAG_MAX_LENGTH} characters`);

// A filter tag may carry a '-' prefix (exclude workers having the tag) in front of a
// full-length tag. Lengths count code points, as zod's max does.
const filterTagSchema = z
  .string()
  .refine(
    (tag) => [...(tag.startsWith('-') ? tag.slice(1) : tag)].length <= TAG_MAX_LENGTH,
    `must be at most ${TAG_MAX_LENGTH} characters after an optional '-' prefix`,
  );

function boundedList<Item extends z.ZodType>(item: Item, noun: string) {
  return z.array(item).max(MAX_LIST_ENTRIES, `must contain at most ${MAX_LIST_ENTRIES} ${noun}`);
}

const tagListSchema = boundedList(tagSchema, 'tags');
const filterTagListSchema = boundedList(filterTagSchema, 'tags');
const queueListSchema = boundedList(tagSchema, 'queues');

const workerIdListSchema = z
  .array(z.string().max(WORKER_ID_MAX_LENGTH, `must be at most ${WORKER_ID_MAX_LENGTH} characters`))
  .max(MAX_WORKER_IDS, `must contain at most ${MAX_WORKER_IDS} worker ids`);

/** Seconds (or, from clearml-agent, milliseconds) since the epoch; range checks happen in the handler. */
const finiteNumber = z.number().refine(Number.isFinite, 'must be a finite number');

const sampleValue = finiteNumber.refine(
  (value) => Math.abs(value) <= FLOAT4_MAX,
  `must be within the float4 range of +-${FLOAT4_MAX}`,
);

/** Maximum values in one machine_stats array (one per core or card). */
export const MAX_DEVICES = 1024;

/** A metric value: one number (variant `total`) or one per device (variants "0", "1", ...). */
const metricValueSchema = z.union(
  [sampleValue, z.array(sampleValue).max(MAX_DEVICES, `must have at most ${MAX_DEVICES} values`)],
  { error: `must be a finite number or a list of at most ${MAX_DEVICES} finite numbers` },
);

export const machineStatsSchema = z.object(
  Object.fromEntries(METRIC_KEYS.map((key) => [key, metricValueSchema.optional()])) as Record<
    MetricKey,
    z.ZodOptional<typeof metricValueSchema>
  >,
);
export type MachineStats = z.infer<typeof machineStatsSchema>;

// ---- requests ----

const workerFilterFields = {
  tags: filterTagListSchema.optional(),
  system_tags: filterTagListSchema.optional(),
  worker_pattern: z
    .string()
    .max(WORKER_PATTERN_MAX_LENGTH, `must be at most ${WORKER_PATTERN_MAX_LENGTH} characters`)
    .optional(),
};

export const getAllRequestSchema = z.object({
  // null disables the filter like 0, unlike an absent field, which takes the default.
  last_seen: z.int().min(0).nullable().optional(),
  ...workerFilterFields,
});
export type GetAllRequest = z.infer<typeof getAllRequestSchema>;

export const getCountRequestSchema = getAllRequestSchema;
export type GetCountRequest = z.infer<typeof getCountRequestSchema>;

export const registerRequestSchema = z.object({
  worker: workerIdSchema,
  // Sign and zero are checked by the handler: a timeout that is not positive is 1002, not 12.
  // The maximum is the int4 column's, about 68 years.
  timeout: z.int().max(MAX_TIMEOUT_SECONDS, `must be at most ${MAX_TIMEOUT_SECONDS} seconds`).optional(),
  queues: queueListSchema.optional(),
  tags: tagListSchema.optional(),
  system_tags: tagListSchema.optional(),
});
export type RegisterRequest = z.infer<typeof registerRequestSchema>;

export const unregisterRequestSchema = z.object({
  worker: workerIdSchema,
});
export type UnregisterRequest = z.infer<typeof unregisterRequestSchema>;

export const statusReportRequestSchema = z.object({
  worker: workerIdSchema,
  timestamp: finiteNumber,
  task: z.string().max(TASK_ID_MAX_LENGTH, `must be at most ${TASK_ID_MAX_LENGTH} characters`).optional(),
  queue: tagSchema.optional(),
  queues: queueListSchema.optional(),
  machine_stats: machineStatsSchema.optional(),
  tags: tagListSchema.optional(),
  system_tags: tagListSchema.optional(),
});
export type StatusReportRequest = z.infer<typeof statusReportRequestSchema>;

export const getMetricKeysRequestSchema = z.object({
  worker_ids: workerIdListSchema.optional(),
});
export type GetMetricKeysRequest = z.infer<typeof getMetricKeysRequestSchema>;

const dateSeconds = finiteNumber.pipe(
  z.number().min(0).max(MAX_DATE_SECONDS, `must be at most ${MAX_DATE_SECONDS} (9999-12-31T23:59:59Z) seconds`),
);

const statsRangeFields = {
  from_date: dateSeconds,
  to_date: dateSeconds,
  interval: z.int().min(1),
};

/** One requested series. The seed schema names the aggregation `category`; both are accepted. */
export const statItemSchema = z.object({
  key: metricKeySchema,
  aggregation: aggregationSchema.optional(),
  category: aggregationSchema.optional(),
});

export const getStatsRequestSchema = z.object({
  worker_ids: workerIdListSchema.optional(),
  ...statsRangeFields,
  items: z
    .array(statItemSchema)
    .min(1, 'must contain at least one item')
    .max(MAX_STAT_ITEMS, `must contain at most ${MAX_STAT_ITEMS} items`),
  split_by_variant: z.boolean().optional(),
});
export type GetStatsRequest = z.infer<typeof getStatsRequestSchema>;

export const getActivityReportRequestSchema = z.object(statsRangeFields);
export type GetActivityReportRequest = z.infer<typeof getActivityReportRequestSchema>;

// ---- responses ----

const idNameSchema = z.object({ id: z.string(), name: z.string().optional() });

export const workerEntrySchema = z.object({
  id: z.string(),
  key: z.string(),
  user: idNameSchema,
  company: idNameSchema,
  ip: z.string().optional(),
  register_time: z.string(),
  last_activity_time: z.string(),
  last_report_time: z.string().optional(),
  task: idNameSchema
    .extend({ running_time: z.int().optional(), last_iteration: z.int().optional() })
    .optional(),
  project: idNameSchema.optional(),
  queue: idNameSchema
    .extend({
      display_name: z.string().optional(),
      next_task: idNameSchema.optional(),
      num_tasks: z.int().optional(),
    })
    .optional(),
  queues: z.array(
    idNameSchema.extend({
      display_name: z.string().optional(),
      next_task: idNameSchema.optional(),
      num_tasks: z.int().optional(),
    }),
  ),
  tags: z.array(z.string()),
  system_tags: z.array(z.string()),
});
export type WorkerEntry = z.infer<typeof workerEntrySchema>;

export const getAllResponseSchema = z.object({ workers: z.array(workerEntrySchema) });
export type GetAllResponse = z.infer<typeof getAllResponseSchema>;

export const getCountResponseSchema = z.object({ count: z.int() });
export type GetCountResponse = z.infer<typeof getCountResponseSchema>;

export const emptyResponseSchema = z.object({});

export const getMetricKeysResponseSchema = z.object({
  categories: z.array(z.object({ name: z.string(), metric_keys: z.array(z.string()) })),
});
export type GetMetricKeysResponse = z.infer<typeof getMetricKeysResponseSchema>;

export const aggregationStatsSchema = z.object({
  aggregation: aggregationSchema,
  dates: z.array(z.int()),
  values: z.array(z.number()),
});

export const metricStatsSchema = z.object({
  metric: z.string(),
  variant: z.string().optional(),
  /** Bucket starts in seconds, ascending; the same list as in every `stats` entry. */
  dates: z.array(z.int()),
  stats: z.array(aggregationStatsSchema),
});
export type MetricStats = z.infer<typeof metricStatsSchema>;

export const getStatsResponseSchema = z.object({
  workers: z.array(z.object({ worker: z.string(), metrics: z.array(metricStatsSchema) })),
});
export type GetStatsResponse = z.infer<typeof getStatsResponseSchema>;

const activitySeriesSchema = z.object({ dates: z.array(z.int()), counts: z.array(z.int()) });

export const getActivityReportResponseSchema = z.object({
  total: activitySeriesSchema,
  active: activitySeriesSchema,
});
export type GetActivityReportResponse = z.infer<typeof getActivityReportResponseSchema>;
