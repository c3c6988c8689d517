import { sql } from 'drizzle-orm';
import {
  bigint,
  customType,
  foreignKey,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  primaryKey,
  real,
  smallint,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

/**
 * One Drizzle schema serves both PostgreSQL (postgres driver) and embedded PGlite.
 * Every table is scoped by `company_id`, and every key starts with it.
 */

const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const companies = pgTable(
  'companies',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (table) => [uniqueIndex('companies_name_idx').on(table.name)],
);

export const users = pgTable(
  'users',
  {
    companyId: text('company_id')
      .notNull()
      .references(() => companies.id),
    id: text('id').notNull(),
    name: text('name').notNull(),
    /** A ClearML role (`admin`, `user`, ...), carried in the token's identity; no endpoint checks it. */
    role: text('role').notNull().default('user'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ columns: [table.companyId, table.id] }),
    uniqueIndex('users_company_name_idx').on(table.companyId, table.name),
  ],
);

/**
 * API credentials: an access key and a secret key belonging to a user of a company. Only
 * a slow hash of the secret is stored (see lib/auth/secrets.ts for its format). A revoked
 * credential stays listed, and neither it nor the tokens issued for it are accepted.
 */
export const credentials = pgTable(
  'credentials',
  {
    accessKey: text('access_key').primaryKey(),
    companyId: text('company_id').notNull(),
    userId: text('user_id').notNull(),
    secretHash: text('secret_hash').notNull(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    revokedAt: timestamptz('revoked_at'),
  },
  (table) => [
    foreignKey({ columns: [table.companyId, table.userId], foreignColumns: [users.companyId, users.id] }),
    index('credentials_company_user_idx').on(table.companyId, table.userId),
  ],
);

/**
 * Secrets the service generates for itself at first start, by name: `jwt_secret`, the
 * HS256 key of the tokens when WORKERS_JWT_SECRET is not set.
 */
export const serviceSecrets = pgTable('service_secrets', {
  name: text('name').primaryKey(),
  value: text('value').notNull(),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
});

/**
 * Live worker entries. A worker is identified by (company, user, worker id), as in
 * ClearML. An entry whose `expires_at` has passed is treated as absent everywhere.
 */
export const workers = pgTable(
  'workers',
  {
    companyId: text('company_id').notNull(),
    userId: text('user_id').notNull(),
    workerId: text('worker_id').notNull(),
    ip: text('ip'),
    registerTime: timestamptz('register_time').notNull(),
    lastActivityTime: timestamptz('last_activity_time').notNull(),
    lastReportTime: timestamptz('last_report_time'),
    /** Registration timeout in seconds: each register or status_report extends the expiry by it. */
    timeoutSeconds: integer('timeout_seconds').notNull(),
    expiresAt: timestamptz('expires_at').notNull(),
    taskId: text('task_id'),
    projectId: text('project_id'),
    queueId: text('queue_id'),
    queues: text('queues').array().notNull().default(sql`'{}'::text[]`),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    systemTags: text('system_tags').array().notNull().default(sql`'{}'::text[]`),
  },
  (table) => [
    primaryKey({ columns: [table.companyId, table.userId, table.workerId] }),
    index('workers_company_expires_idx').on(table.companyId, table.expiresAt),
  ],
);

const xid8 = customType<{ data: string }>({ dataType: () => 'xid8' });

/**
 * One row per accepted status_report, with or without machine_stats, partitioned by day
 * on `time` (the report's own timestamp) so that retention drops whole partitions.
 *
 * The samples are stored compactly: `values` contains every sample of the report, and
 * `layout_id` names the layout that gives the metric and variant of each position.
 * `xid` is the inserting transaction, which the incremental rollup refresh uses to find
 * the reports it has not aggregated yet.
 */
export const reports = pgTable(
  'reports',
  {
    companyId: text('company_id').notNull(),
    workerId: text('worker_id').notNull(),
    time: timestamptz('time').notNull(),
    taskId: text('task_id'),
    layoutId: bigint('layout_id', { mode: 'number' }).notNull(),
    values: real('values').array().notNull(),
    xid: xid8('xid').notNull().default(sql`pg_current_xact_id()`),
  },
  (table) => [
    index('reports_company_worker_time_idx').on(table.companyId, table.workerId, table.time),
    // The refresh finds new reports by xid alone; queries find a company's tail by both.
    index('reports_xid_idx').on(table.xid),
    index('reports_company_xid_idx').on(table.companyId, table.xid),
    // Reports arrive in about time order, so a BRIN index finds a time range (the raw
    // edges of a query over every worker) for a few bytes per thousand rows.
    index('reports_time_brin_idx').using('brin', table.time),
  ],
);

/**
 * Sample layouts: `series[i]` encodes the metric and variant of position i of a report's
 * values as metric index * 2048 + variant slot (0 for a scalar, device index + 1 for an
 * array). The id is a hash of the series, so every instance computes the same id.
 */
export const layouts = pgTable(
  'layouts',
  {
    companyId: text('company_id').notNull(),
    id: bigint('id', { mode: 'number' }).notNull(),
    series: smallint('series').array().notNull(),
    /** The distinct metric indexes of `series`, ascending: the slots of a rollup's per-metric totals. */
    metrics: smallint('metrics').array().notNull(),
  },
  (table) => [primaryKey({ columns: [table.companyId, table.id] })],
);

/** The layouts each worker has reported with: the source of get_metric_keys. */
export const workerLayouts = pgTable(
  'worker_layouts',
  {
    companyId: text('company_id').notNull(),
    workerId: text('worker_id').notNull(),
    layoutId: bigint('layout_id', { mode: 'number' }).notNull(),
  },
  (table) => [primaryKey({ columns: [table.companyId, table.workerId, table.layoutId] })],
);

/**
 * Materialised rollups of reports per worker, layout and bucket: the number of reports
 * (and of reports naming a task), and per position of the layout and per metric the min,
 * max and sum of the samples. Sums are numeric over each float4's shortest decimal text, so that
 * averages from rollups equal averages from raw samples exactly.
 */
function rollupTable(name: string) {
  return pgTable(
    name,
    {
      companyId: text('company_id').notNull(),
      workerId: text('worker_id').notNull(),
      layoutId: bigint('layout_id', { mode: 'number' }).notNull(),
      bucket: timestamptz('bucket').notNull(),
      reports: integer('reports').notNull(),
      taskReports: integer('task_reports').notNull(),
      mins: real('mins').array().notNull(),
      maxs: real('maxs').array().notNull(),
      sums: numeric('sums').array().notNull(),
      // Per metric of the layout (its `metrics` order), over every variant: what queries
      // that do not split by variant read, without expanding every position.
      metricMins: real('metric_mins').array().notNull(),
      metricMaxs: real('metric_maxs').array().notNull(),
      metricSums: numeric('metric_sums').array().notNull(),
      /** Samples per metric: reports times the metric's positions in the layout. */
      metricCounts: integer('metric_counts').array().notNull(),
    },
    (table) => [
      primaryKey({ columns: [table.companyId, table.workerId, table.layoutId, table.bucket] }),
      index(`${name}_company_bucket_idx`).on(table.companyId, table.bucket),
    ],
  );
}

/** Rollups per minute, partitioned by day on `bucket`. */
export const rollupsMinute = rollupTable('rollups_minute');

/** Rollups per five minutes, partitioned by day on `bucket`. */
export const rollupsFiveMinutes = rollupTable('rollups_five_minutes');

/** Rollups per hour, partitioned by month on `bucket`. */
export const rollupsHour = rollupTable('rollups_hour');

/**
 * Series chunks: a rollup's per-metric results packed per worker, metric, aggregation
 * and day of buckets. A query at the rollup's own width then reads one row per series
 * and day instead of one per bucket. `packed` is base64 text (without line breaks) of one big-endian float8 per
 * bucket of the span, in order, NaN where the bucket has no samples (samples are finite,
 * so no result is NaN): the values the rollup's own rows return. It is stored encoded
 * because encoding it on every read cost as much as reading it. The tables are
 * partitioned by aggregation (see the migration), so that a query scans only the
 * aggregations it requests. A chunk is built once its span has ended, and partially (up
 * to `complete_before`) while it runs. A report that changes a covered bucket deletes
 * the span's chunks until they are rebuilt. Queries read the rollup rows of the buckets
 * that no chunk covers.
 */
function chunkTable(name: string) {
  return pgTable(
    name,
    {
      companyId: text('company_id').notNull(),
      workerId: text('worker_id').notNull(),
      chunkStart: timestamptz('chunk_start').notNull(),
      /** Index into METRIC_KEYS. */
      metric: smallint('metric').notNull(),
      /** End of the buckets the chunk covers: the span's end, or earlier for a running span. */
      completeBefore: timestamptz('complete_before').notNull(),
      /** `avg`, `min` or `max`: the partition key. */
      aggregation: text('aggregation').notNull(),
      packed: text('packed').notNull(),
    },
    (table) => [
      // Time before worker: the key serves a company's chunks over a time range, for
      // queries over every worker, and a pair's chunks by exact start.
      primaryKey({ columns: [table.companyId, table.chunkStart, table.workerId, table.metric, table.aggregation] }),
    ],
  );
}

/** Chunks of the five-minute rollup, a day (288 buckets) each. */
export const chunksFiveMinutes = chunkTable('chunks_five_minutes');

/** Chunks of the hourly rollup, one day each. */
export const chunksHour = chunkTable('chunks_hour');

/**
 * The (worker, span) pairs of a rollup whose chunk is missing or stale. The refresh adds
 * every pair it changes and deletes their chunks in the same transaction. The compaction
 * builds the chunks of the pairs whose span has ended and removes those pairs.
 */
export const chunkQueue = pgTable(
  'chunk_queue',
  {
    companyId: text('company_id').notNull(),
    workerId: text('worker_id').notNull(),
    /** The rollup: `five_minutes` or `hour`. */
    source: text('source').notNull(),
    chunkStart: timestamptz('chunk_start').notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.companyId, table.workerId, table.source, table.chunkStart] }),
    index('chunk_queue_source_start_idx').on(table.source, table.chunkStart),
  ],
);

/**
 * Progress of the incremental refresh: every report whose transaction id is below
 * `watermark` is in the rollups, and reports at or above it are read raw.
 */
export const rollupState = pgTable('rollup_state', {
  name: text('name').primaryKey(),
  watermark: xid8('watermark').notNull(),
  refreshedAt: timestamptz('refreshed_at'),
});

/** Projects group tasks. Names are free text and may repeat, as in ClearML. */
export const projects = pgTable(
  'projects',
  {
    companyId: text('company_id').notNull(),
    id: text('id').notNull(),
    name: text('name').notNull(),
    description: text('description'),
    userId: text('user_id').notNull(),
    created: timestamptz('created').notNull(),
  },
  (table) => [primaryKey({ columns: [table.companyId, table.id] })],
);

/**
 * Tasks that workers run. `active_duration_ms` is the time spent in progress before the
 * current run, and `in_progress_since` the start of the current run while the status is
 * in_progress, so the running time at any moment is their sum with the time since.
 */
export const tasks = pgTable(
  'tasks',
  {
    companyId: text('company_id').notNull(),
    id: text('id').notNull(),
    name: text('name').notNull(),
    type: text('type').notNull(),
    status: text('status').notNull(),
    statusReason: text('status_reason'),
    statusMessage: text('status_message'),
    projectId: text('project_id'),
    userId: text('user_id').notNull(),
    comment: text('comment'),
    /** The queue the task was last added to (ClearML's `execution.queue`). */
    queueId: text('queue_id'),
    created: timestamptz('created').notNull(),
    started: timestamptz('started'),
    completed: timestamptz('completed'),
    statusChanged: timestamptz('status_changed').notNull(),
    lastUpdate: timestamptz('last_update').notNull(),
    lastIteration: integer('last_iteration').notNull().default(0),
    activeDurationMs: bigint('active_duration_ms', { mode: 'number' }).notNull().default(0),
    inProgressSince: timestamptz('in_progress_since'),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    systemTags: text('system_tags').array().notNull().default(sql`'{}'::text[]`),
  },
  (table) => [
    primaryKey({ columns: [table.companyId, table.id] }),
    index('tasks_company_project_idx').on(table.companyId, table.projectId),
  ],
);

/** Queues of tasks waiting for a worker. Names are free text and may repeat. */
export const queues = pgTable(
  'queues',
  {
    companyId: text('company_id').notNull(),
    id: text('id').notNull(),
    name: text('name').notNull(),
    displayName: text('display_name'),
    userId: text('user_id').notNull(),
    created: timestamptz('created').notNull(),
    lastUpdate: timestamptz('last_update').notNull(),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    systemTags: text('system_tags').array().notNull().default(sql`'{}'::text[]`),
    metadata: jsonb('metadata').notNull().default(sql`'{}'::jsonb`),
  },
  (table) => [primaryKey({ columns: [table.companyId, table.id] })],
);

/**
 * The entries of each queue, first out lowest `position`. A task is at most once in a
 * queue. Entries go with their queue and with their task.
 */
export const queueEntries = pgTable(
  'queue_entries',
  {
    companyId: text('company_id').notNull(),
    queueId: text('queue_id').notNull(),
    taskId: text('task_id').notNull(),
    added: timestamptz('added').notNull(),
    position: bigint('position', { mode: 'number' }).notNull().generatedAlwaysAsIdentity(),
  },
  (table) => [
    primaryKey({ columns: [table.companyId, table.queueId, table.taskId] }),
    index('queue_entries_company_queue_position_idx').on(table.companyId, table.queueId, table.position),
    index('queue_entries_company_task_idx').on(table.companyId, table.taskId),
    foreignKey({ columns: [table.companyId, table.queueId], foreignColumns: [queues.companyId, queues.id] }).onDelete('cascade'),
    foreignKey({ columns: [table.companyId, table.taskId], foreignColumns: [tasks.companyId, tasks.id] }).onDelete('cascade'),
  ],
);
