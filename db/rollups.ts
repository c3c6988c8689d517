import { sql } from 'drizzle-orm';

import { SERIES_STRIDE } from '@/lib/stats/layout';

import { findPostgresError, queryRows, type Database, type Executor } from './client';
import { ensurePartitions } from './partitions';

// One refresh at a time across every instance on the database.
const REFRESH_LOCK_KEY = 7_261_002;

// SQLSTATE of "could not serialize access due to concurrent update".
const SERIALIZATION_FAILURE = '40001';

const ROLLUPS = [
  { table: 'rollups_minute', seconds: 60 },
  { table: 'rollups_five_minutes', seconds: 300 },
  { table: 'rollups_hour', seconds: 3600 },
] as const;

export interface RefreshResult {
  /** False when another instance held the refresh lock, so nothing was done. */
  ran: boolean;
  /** Reports aggregated by this refresh. */
  reports: number;
  /** The new watermark: every report of a transaction below it is in the rollups. */
  watermark: string;
  /**
   * The watermark this refresh started from, so it aggregated the reports of the
   * transactions from it up to `watermark`. Empty when the refresh did not run.
   */
  previousWatermark: string;
}

/**
 * Aggregates the reports written since the last refresh into the per-minute,
 * five-minute and hourly rollups, merging with the buckets already there. The work grows with the new reports,
 * not with the history: reports are found by their transaction id, from the previous
 * watermark up to the oldest transaction of this database still running. Every
 * transaction below that bound has finished, so no report can still appear behind the
 * new watermark.
 */
export async function refreshRollups(db: Database): Promise<RefreshResult> {
  // Partitions are DDL, created before the refresh transaction for every bucket the new
  // reports may touch.
  const days = await queryRows<{ day: Date | string }>(
    db,
    sql`SELECT DISTINCT date_trunc('day', r.time, 'UTC') AS day
        FROM reports r, rollup_state s
        WHERE s.name = 'rollups' AND r.xid >= s.watermark`,
  );
  const times = days.map((row) => new Date(row.day));
  const preparedDays = new Set(times.map((time) => time.getTime()));
  for (const rollup of ROLLUPS) {
    await ensurePartitions(db, rollup.table, times);
  }

  try {
    return await refreshInTransaction(db, preparedDays);
  } catch (error) {
    // The lock is taken in the transaction's first statement, whose snapshot PostgreSQL
    // takes just before. Another instance that commits its refresh in between releases
    // the lock but its watermark is not in this snapshot, so reading rollup_state FOR
    // UPDATE fails with a serialization failure. That instance has just refreshed, so
    // this round is skipped as if the lock had been held.
    if (findPostgresError(error, SERIALIZATION_FAILURE)) {
      return { ran: false, reports: 0, watermark: '', previousWatermark: '' };
    }
    throw error;
  }
}

async function refreshInTransaction(db: Database, preparedDays: ReadonlySet<number>): Promise<RefreshResult> {
  return db.transaction(
    async (transaction) => {
      const [lock] = await queryRows<{ locked: boolean }>(
        transaction,
        sql`SELECT pg_try_advisory_xact_lock(${REFRESH_LOCK_KEY}) AS locked`,
      );
      if (!lock?.locked) {
        return { ran: false, reports: 0, watermark: '', previousWatermark: '' };
      }

      // The new bound is the oldest transaction of this snapshot still running, leaving
      // out those running in other databases (they cannot write reports here), or the
      // next transaction id when none is. Every report below it is visible now and no
      // report can still appear there. A transaction that ended after the snapshot but
      // before pg_stat_activity was read counts as running, which only delays it a round.
      const [bounds] = await queryRows<{ low: string; high: string }>(
        transaction,
        sql`SELECT watermark::text AS low,
                   coalesce(
                     (SELECT min(running::text::numeric)::text
                      FROM pg_snapshot_xip(pg_current_snapshot()) AS running
                      WHERE NOT EXISTS (
                        SELECT 1 FROM pg_stat_activity activity
                        WHERE activity.backend_xid = running::xid
                          AND activity.datname IS DISTINCT FROM current_database())),
                     pg_snapshot_xmax(pg_current_snapshot())::text) AS high
            FROM rollup_state WHERE name = 'rollups' FOR UPDATE`,
      );
      if (!bounds || BigInt(bounds.high) <= BigInt(bounds.low)) {
        return { ran: true, reports: 0, watermark: bounds?.low ?? '0', previousWatermark: bounds?.low ?? '0' };
      }

      // A report of a new day may have committed after the days were listed. Its rollup
      // partitions do not exist yet, so this round stops and the next one creates them.
      const batchDays = await queryRows<{ day: Date | string; reports: number | string }>(
        transaction,
        sql`SELECT date_trunc('day', time, 'UTC') AS day, count(*) AS reports
            FROM reports WHERE xid >= ${bounds.low}::xid8 AND xid < ${bounds.high}::xid8
            GROUP BY 1`,
      );
      if (batchDays.some((row) => !preparedDays.has(new Date(row.day).getTime()))) {
        return { ran: true, reports: 0, watermark: bounds.low, previousWatermark: bounds.low };
      }
      const counted = { reports: batchDays.reduce((total, row) => total + Number(row.reports), 0) };
      await aggregateBatch(transaction, bounds.low, bounds.high);
      for (const rollup of ROLLUPS) {
        await mergeIntoRollup(transaction, rollup.table, rollup.seconds);
      }
      await transaction.execute(
        sql`UPDATE rollup_state SET watermark = ${bounds.high}::xid8, refreshed_at = now() WHERE name = 'rollups'`,
      );

      return { ran: true, reports: Number(counted?.reports ?? 0), watermark: bounds.high, previousWatermark: bounds.low };
    },
    { isolationLevel: 'repeatable read' },
  );
}

/**
 * Aggregates the reports with low <= xid < high per worker, layout and minute into a
 * temporary table dropped at commit. Both rollups merge from it, so each new sample is
 * converted and summed once.
 */
async function aggregateBatch(transaction: Executor, low: string, high: string): Promise<void> {
  await transaction.execute(sql`
    CREATE TEMP TABLE refresh_batch ON COMMIT DROP AS
    WITH batch AS (
      SELECT company_id, worker_id, layout_id, task_id, "values",
             to_timestamp(floor(extract(epoch FROM time) / 60) * 60) AS bucket
      FROM reports
      WHERE xid >= ${low}::xid8 AND xid < ${high}::xid8
    ),
    counts AS (
      SELECT company_id, worker_id, layout_id, bucket, count(*)::int AS reports, count(task_id)::int AS task_reports
      FROM batch
      GROUP BY 1, 2, 3, 4
    ),
    samples AS (
      SELECT company_id, worker_id, layout_id, bucket, sample.position, sample.value,
             sample.value::text::numeric AS exact_value
      FROM batch CROSS JOIN LATERAL unnest(batch."values") WITH ORDINALITY AS sample(value, position)
    ),
    positions AS (
      SELECT company_id, worker_id, layout_id, bucket, position,
             min(value) AS low_value, max(value) AS high_value, sum(exact_value) AS total, count(*)::int AS samples
      FROM samples
      GROUP BY 1, 2, 3, 4, 5
    ),
    arrays AS (
      SELECT company_id, worker_id, layout_id, bucket,
             array_agg(low_value ORDER BY position) AS mins,
             array_agg(high_value ORDER BY position) AS maxs,
             array_agg(total ORDER BY position) AS sums
      FROM positions
      GROUP BY 1, 2, 3, 4
    ),
    metrics AS (
      SELECT positions.company_id, positions.worker_id, positions.layout_id, positions.bucket,
             layouts.series[positions.position] / ${SERIES_STRIDE} AS metric,
             min(low_value) AS low_value, max(high_value) AS high_value, sum(total) AS total, sum(samples)::int AS samples
      FROM positions
      JOIN layouts ON layouts.company_id = positions.company_id AND layouts.id = positions.layout_id
      GROUP BY 1, 2, 3, 4, 5
    ),
    metric_arrays AS (
      SELECT company_id, worker_id, layout_id, bucket,
             array_agg(low_value ORDER BY metric) AS metric_mins,
             array_agg(high_value ORDER BY metric) AS metric_maxs,
             array_agg(total ORDER BY metric) AS metric_sums,
             array_agg(samples ORDER BY metric) AS metric_counts
      FROM metrics
      GROUP BY 1, 2, 3, 4
    )
    SELECT counts.company_id, counts.worker_id, counts.layout_id, counts.bucket, counts.reports, counts.task_reports,
           coalesce(arrays.mins, '{}') AS mins, coalesce(arrays.maxs, '{}') AS maxs, coalesce(arrays.sums, '{}') AS sums,
           coalesce(metric_arrays.metric_mins, '{}') AS metric_mins, coalesce(metric_arrays.metric_maxs, '{}') AS metric_maxs,
           coalesce(metric_arrays.metric_sums, '{}') AS metric_sums, coalesce(metric_arrays.metric_counts, '{}') AS metric_counts
    FROM counts
    LEFT JOIN arrays USING (company_id, worker_id, layout_id, bucket)
    LEFT JOIN metric_arrays USING (company_id, worker_id, layout_id, bucket)
  `);
}

/**
 * Merges the minute aggregates of the batch into a rollup table of `seconds` wide
 * buckets: counts and sums add up, mins and maxes take the extreme.
 */
async function mergeIntoRollup(transaction: Executor, table: string, seconds: number): Promise<void> {
  const width = sql.raw(String(seconds));
  const target = sql.raw(table);
  const mergeArrays = (column: string, operation: string) =>
    sql.raw(
      `ARRAY(SELECT ${operation} FROM unnest(${table}.${column}, excluded.${column}) WITH ORDINALITY AS merged(old, new, position) ORDER BY position)`,
    );

  await transaction.execute(sql`
    WITH minutes AS (
      SELECT company_id, worker_id, layout_id, reports, task_reports,
             mins, maxs, sums, metric_mins, metric_maxs, metric_sums, metric_counts,
             to_timestamp(floor(extract(epoch FROM bucket) / ${width}) * ${width}) AS bucket
      FROM refresh_batch
    ),
    counts AS (
      SELECT company_id, worker_id, layout_id, bucket, sum(reports)::int AS reports, sum(task_reports)::int AS task_reports
      FROM minutes
      GROUP BY 1, 2, 3, 4
    ),
    positions AS (
      SELECT company_id, worker_id, layout_id, bucket, part.position,
             min(part.low_value) AS low_value, max(part.high_value) AS high_value, sum(part.total) AS total
      FROM minutes
      CROSS JOIN LATERAL unnest(minutes.mins, minutes.maxs, minutes.sums) WITH ORDINALITY AS part(low_value, high_value, total, position)
      GROUP BY 1, 2, 3, 4, 5
    ),
    arrays AS (
      SELECT company_id, worker_id, layout_id, bucket,
             array_agg(low_value ORDER BY position) AS mins,
             array_agg(high_value ORDER BY position) AS maxs,
             array_agg(total ORDER BY position) AS sums
      FROM positions
      GROUP BY 1, 2, 3, 4
    ),
    metrics AS (
      SELECT company_id, worker_id, layout_id, bucket, part.slot,
             min(part.low_value) AS low_value, max(part.high_value) AS high_value,
             sum(part.total) AS total, sum(part.samples)::int AS samples
      FROM minutes
      CROSS JOIN LATERAL unnest(minutes.metric_mins, minutes.metric_maxs, minutes.metric_sums, minutes.metric_counts)
        WITH ORDINALITY AS part(low_value, high_value, total, samples, slot)
      GROUP BY 1, 2, 3, 4, 5
    ),
    metric_arrays AS (
      SELECT company_id, worker_id, layout_id, bucket,
             array_agg(low_value ORDER BY slot) AS metric_mins,
             array_agg(high_value ORDER BY slot) AS metric_maxs,
             array_agg(total ORDER BY slot) AS metric_sums,
             array_agg(samples ORDER BY slot) AS metric_counts
      FROM metrics
      GROUP BY 1, 2, 3, 4
    )
    INSERT INTO ${target} (company_id, worker_id, layout_id, bucket, reports, task_reports, mins, maxs, sums,
                           metric_mins, metric_maxs, metric_sums, metric_counts)
    SELECT counts.company_id, counts.worker_id, counts.layout_id, counts.bucket, counts.reports, counts.task_reports,
           coalesce(arrays.mins, '{}'), coalesce(arrays.maxs, '{}'), coalesce(arrays.sums, '{}'),
           coalesce(metric_arrays.metric_mins, '{}'), coalesce(metric_arrays.metric_maxs, '{}'),
           coalesce(metric_arrays.metric_sums, '{}'), coalesce(metric_arrays.metric_counts, '{}')
    FROM counts
    LEFT JOIN arrays USING (company_id, worker_id, layout_id, bucket)
    LEFT JOIN metric_arrays USING (company_id, worker_id, layout_id, bucket)
    ON CONFLICT (company_id, worker_id, layout_id, bucket) DO UPDATE SET
      reports = ${target}.reports + excluded.reports,
      task_reports = ${target}.task_reports + excluded.task_reports,
      mins = ${mergeArrays('mins', 'least(old, new)')},
      maxs = ${mergeArrays('maxs', 'greatest(old, new)')},
      sums = ${mergeArrays('sums', 'old + new')},
      metric_mins = ${mergeArrays('metric_mins', 'least(old, new)')},
      metric_maxs = ${mergeArrays('metric_maxs', 'greatest(old, new)')},
      metric_sums = ${mergeArrays('metric_sums', 'old + new')},
      metric_counts = ${mergeArrays('metric_counts', 'old + new')}
  `);
}
