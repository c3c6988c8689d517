import { sql } from 'drizzle-orm';
import {
  boolean,
  index,
  integer,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
} from 'drizzle-orm/pg-core';

/**
 * One Drizzle schema serves both PostgreSQL (postgres driver) and embedded PGlite.
 * Every table is scoped by `company_id`, and every key starts with it.
 */

const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const companies = pgTable('companies', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
});

export const users = pgTable(
  'users',
  {
    companyId: text('company_id')
      .notNull()
      .references(() => companies.id),
    id: text('id').notNull(),
    name: text('name').notNull(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.companyId, table.id] })],
);

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

/**
 * One row per accepted status_report, with or without machine_stats: the activity
 * report counts distinct workers per bucket from these rows.
 */
export const workerReports = pgTable(
  'worker_reports',
  {
    companyId: text('company_id').notNull(),
    workerId: text('worker_id').notNull(),
    /** The report's own timestamp (not the time it arrived). */
    time: timestamptz('time').notNull(),
    taskId: text('task_id'),
  },
  (table) => [index('worker_reports_company_time_idx').on(table.companyId, table.time)],
);

/**
 * Samples of one metric from one report, stored as one row per (report, metric) rather
 * than one row per sample. A scalar field is stored as a one-element array with
 * `scalar` set (variant `total`). An array field keeps one value per device, and the
 * index is the variant ("0", "1", ...). Values are float4: about seven significant
 * digits, enough for percents, MB and MB/s.
 */
export const workerStats = pgTable(
  'worker_stats',
  {
    companyId: text('company_id').notNull(),
    workerId: text('worker_id').notNull(),
    time: timestamptz('time').notNull(),
    metric: text('metric').notNull(),
    scalar: boolean('scalar').notNull(),
    values: real('values').array().notNull(),
  },
  (table) => [
    index('worker_stats_company_worker_metric_time_idx').on(
      table.companyId,
      table.workerId,
      table.metric,
      table.time,
    ),
    index('worker_stats_company_time_idx').on(table.companyId, table.time),
  ],
);
