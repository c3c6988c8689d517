import { sql } from 'drizzle-orm';

import { queryRows, type Database, type Executor } from './client';
import { ensurePartitions } from './partitions';

// One refresh at a time across every instance on the database.
const REFRESH_LOCK_KEY = 7_261_002;

const ROLLUPS = [
  { table: 'rollups_minute', seconds: 60 },
  { table: 'rollups_hour', seconds: 3600 },
] as const;

export interface RefreshResult {
  /** False when another instance held the refresh lock, so nothing was done. */
  ran: boolean;
  /** Reports aggregated by this refresh. */
  reports: number;
  /** The new watermark: every report of a transaction below it is in the rollups. */
  watermark: string;
}

/**
 * Aggregates the reports written since the last refresh into the per-minute and hourly
 * rollups, merging with the buckets already there. The work grows with the new reports,
 * not with the history: reports are found by their transaction id, from the previous
 * watermark up to the oldest transaction still running. Every transaction below that
 * bound has finished, so no report can still appear behind the new watermark.
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
  await ensurePartitions(db, 'rollups_minute', times);
  await ensurePartitions(db, 'rollups_hour', times);

  return db.transaction(
    async (transaction) => {
      const [lock] = await queryRows<{ locked: boolean }>(
        transaction,
        sql`SELECT pg_try_advisory_xact_lock(${REFRESH_LOCK_KEY}) AS locked`,
      );
      if (!lock?.locked) {
        return { ran: false, reports: 0, watermark: '' };
      }

      const [bounds] = await queryRows<{ low: string; high: string }>(
        transaction,
        sql`SELECT watermark::text AS low, pg_snapshot_xmin(pg_current_snapshot())::text AS high
            FROM rollup_state WHERE name = 'rollups' FOR UPDATE`,
      );
      if (!bounds || BigInt(bounds.high) <= BigInt(bounds.low)) {
        return { ran: true, reports: 0, watermark: bounds?.low ?? '0' };
      }

      const [counted] = await queryRows<{ reports: number | string }>(
        transaction,
        sql`SELECT count(*) AS reports FROM reports WHERE xid >= ${bounds.low}::xid8 AND xid < ${bounds.high}::xid8`,
      );
      await aggregateBatch(transaction, bounds.low, bounds.high);
      for (const rollup of ROLLUPS) {
        await mergeIntoRollup(transaction, rollup.table, rollup.seconds);
      }
      await transaction.execute(
        sql`UPDATE rollup_state SET watermark = ${bounds.high}::xid8, refreshed_at = now() WHERE name = 'rollups'`,
      );

      return { ran: true, reports: Number(counted?.reports ?? 0), watermark: bounds.high };
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
    positions AS (
      SELECT company_id, worker_id, layout_id, bucket, sample.position,
             min(sample.value) AS low_value, max(sample.value) AS high_value,
             sum(sample.value::text::numeric) AS total
      FROM batch CROSS JOIN LATERAL unnest(batch."values") WITH ORDINALITY AS sample(value, position)
      GROUP BY 1, 2, 3, 4, 5
    ),
    arrays AS (
      SELECT company_id, worker_id, layout_id, bucket,
             array_agg(low_value ORDER BY position) AS mins,
             array_agg(high_value ORDER BY position) AS maxs,
             array_agg(total ORDER BY position) AS sums
      FROM positions
      GROUP BY 1, 2, 3, 4
    )
    SELECT counts.company_id, counts.worker_id, counts.layout_id, counts.bucket, counts.reports, counts.task_reports,
           coalesce(arrays.mins, '{}') AS mins, coalesce(arrays.maxs, '{}') AS maxs, coalesce(arrays.sums, '{}') AS sums
    FROM counts
    LEFT JOIN arrays USING (company_id, worker_id, layout_id, bucket)
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
      SELECT company_id, worker_id, layout_id, reports, task_reports, mins, maxs, sums,
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
    )
    INSERT INTO ${target} (company_id, worker_id, layout_id, bucket, reports, task_reports, mins, maxs, sums)
    SELECT counts.company_id, counts.worker_id, counts.layout_id, counts.bucket, counts.reports, counts.task_reports,
           coalesce(arrays.mins, '{}'), coalesce(arrays.maxs, '{}'), coalesce(arrays.sums, '{}')
    FROM counts
    LEFT JOIN arrays USING (company_id, worker_id, layout_id, bucket)
    ON CONFLICT (company_id, worker_id, layout_id, bucket) DO UPDATE SET
      reports = ${target}.reports + excluded.reports,
      task_reports = ${target}.task_reports + excluded.task_reports,
      mins = ${mergeArrays('mins', 'least(old, new)')},
      maxs = ${mergeArrays('maxs', 'greatest(old, new)')},
      sums = ${mergeArrays('sums', 'old + new')}
  `);
}
