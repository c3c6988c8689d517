import { sql, type SQL } from 'drizzle-orm';

import { queryRows, type Executor } from './client';
import { workerReports, workerStats } from './schema';

export interface StatsRow {
  metric: string;
  scalar: boolean;
  values: number[];
}

/** Stores one accepted report and its samples; call inside the report's transaction. */
export async function insertReport(
  db: Executor,
  report: { companyId: string; workerId: string; time: Date; taskId: string | null; stats: StatsRow[] },
): Promise<void> {
  await db.insert(workerReports).values({
    companyId: report.companyId,
    workerId: report.workerId,
    time: report.time,
    taskId: report.taskId,
  });

  if (report.stats.length > 0) {
    await db.insert(workerStats).values(
      report.stats.map((row) => ({
        companyId: report.companyId,
        workerId: report.workerId,
        time: report.time,
        metric: row.metric,
        scalar: row.scalar,
        values: row.values,
      })),
    );
  }
}

/** Returns the distinct metric keys stored for the given workers (all when none are given). */
export async function selectMetricKeys(
  db: Executor,
  params: { companyId: string; workerIds?: string[] },
): Promise<string[]> {
  const workerCondition = params.workerIds?.length
    ? sql`AND worker_id = ANY(${textArray(params.workerIds)})`
    : sql``;
  const rows = await queryRows<{ metric: string }>(
    db,
    sql`SELECT DISTINCT metric FROM worker_stats WHERE company_id = ${params.companyId} ${workerCondition}`,
  );

  return rows.map((row) => row.metric);
}

export interface BucketRow {
  worker: string;
  metric: string;
  /** `total` for a scalar field or "0", "1", ... per device; null unless split by variant. */
  variant: string | null;
  /** Bucket start, seconds since the epoch. */
  bucket: number;
  avg: number;
  min: number;
  max: number;
}

/**
 * Aggregates raw samples into epoch-aligned buckets of `interval` seconds (start =
 * floor(t / interval) * interval), over from <= t <= to. Without `splitByVariant` a
 * bucket aggregates every variant of the metric together.
 *
 * The average is taken in numeric over each float4's shortest decimal text, so that
 * 12.3 and 12.3 average to 12.3 and not to float4 noise. Min and max stay float4,
 * because the drivers parse them from the same shortest text.
 */
export async function selectStatsBuckets(
  db: Executor,
  params: {
    companyId: string;
    workerIds?: string[];
    metrics: string[];
    from: Date;
    to: Date;
    interval: number;
    splitByVariant: boolean;
  },
): Promise<BucketRow[]> {
  const workerCondition = params.workerIds?.length
    ? sql`AND s.worker_id = ANY(${textArray(params.workerIds)})`
    : sql``;
  const variant = params.splitByVariant
    ? sql`CASE WHEN s.scalar THEN 'total' ELSE (u.position - 1)::text END`
    : sql`NULL::text`;
  const interval = sql.raw(String(Math.trunc(params.interval)));

  const rows = await queryRows<{
    worker: string;
    metric: string;
    variant: string | null;
    bucket: number | string;
    avg: number | string;
    min: number | string;
    max: number | string;
  }>(
    db,
    sql`
      SELECT s.worker_id AS worker,
             s.metric,
             ${variant} AS variant,
             (floor(extract(epoch FROM s.time) / ${interval}) * ${interval})::float8 AS bucket,
             avg(u.value::text::numeric)::float8 AS avg,
             min(u.value) AS min,
             max(u.value) AS max
      FROM worker_stats s
      CROSS JOIN LATERAL unnest(s.values) WITH ORDINALITY AS u(value, position)
      WHERE s.company_id = ${params.companyId}
        AND s.metric = ANY(${textArray(params.metrics)})
        AND s.time >= ${params.from.toISOString()}::timestamptz
        AND s.time <= ${params.to.toISOString()}::timestamptz
        ${workerCondition}
      GROUP BY 1, 2, 3, 4
      ORDER BY 1, 2, 3, 4`,
  );

  return rows.map((row) => ({
    worker: row.worker,
    metric: row.metric,
    variant: row.variant,
    bucket: Number(row.bucket),
    avg: Number(row.avg),
    min: Number(row.min),
    max: Number(row.max),
  }));
}

export interface ActivityRow {
  /** Bucket start, seconds since the epoch. */
  bucket: number;
  total: number;
  active: number;
}

/**
 * Counts, per bucket of `interval` seconds, the distinct workers that sent a report
 * timestamped in it (from <= t <= to), and those whose report named a task.
 */
export async function selectActivityBuckets(
  db: Executor,
  params: { companyId: string; from: Date; to: Date; interval: number },
): Promise<ActivityRow[]> {
  const interval = sql.raw(String(Math.trunc(params.interval)));
  const rows = await queryRows<{ bucket: number | string; total: number | string; active: number | string }>(
    db,
    sql`
      SELECT (floor(extract(epoch FROM time) / ${interval}) * ${interval})::float8 AS bucket,
             count(DISTINCT worker_id)::int AS total,
             count(DISTINCT worker_id) FILTER (WHERE task_id IS NOT NULL)::int AS active
      FROM worker_reports
      WHERE company_id = ${params.companyId}
        AND time >= ${params.from.toISOString()}::timestamptz
        AND time <= ${params.to.toISOString()}::timestamptz
      GROUP BY 1
      ORDER BY 1`,
  );

  return rows.map((row) => ({ bucket: Number(row.bucket), total: Number(row.total), active: Number(row.active) }));
}

/** Binds a string list as one text[] parameter, the same way on both drivers. */
function textArray(values: string[]): SQL {
  return sql`${`{${values.map((value) => `"${value.replace(/["\\]/g, '\\$&')}"`).join(',')}}`}::text[]`;
}
