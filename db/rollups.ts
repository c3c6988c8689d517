import { sql } from 'drizzle-orm';

import { SERIES_STRIDE } from '@/lib/stats/layout';

import { invalidateChunks } from './chunks';
import { findPostgresError, queryRows, tryTransactionLock, type Database, type Executor } from './client';
import { LOCK_KEYS } from './locks';
import { ensurePartitions } from './partitions';


// SQLSTATE of "could not serialize access due to concurrent update".
const SERIALIZATION_FAILURE = '40001';

const ROLLUPS = [
  { table: 'rollups_minute', seconds: 60 },
  { table: 'rollups_five_minutes', seconds: 300 },
  { table: 'rollups_hour', seconds: 3600 },
] as const;

/**
 * Default bound on the reports one refresh aggregates, so that a refresh after a bulk
 * load or a long pause runs as several short transactions whose sorts fit in memory.
 */
export const REFRESH_BATCH_REPORTS = 20_000;

export interface RefreshResult {
  /** False when another instance held the refresh lock, so nothing was done. */
  ran: boolean;
  /** Reports aggregated by this refresh. */
  reports: number;
  /** Whether reports below the bound were left for another refresh by the batch limit. */
  more: boolean;
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
 * five-minute and hourly rollups, merging with the buckets already there. The work grows
 * with the new reports, not with the history: reports are found by their transaction id, from the previous
 * watermark up to the oldest transaction of this database still running. Every
 * transaction below that bound has finished, so no report can still appear behind the
 * new watermark.
 */
export async function refreshRollups(db: Database, batchReports = REFRESH_BATCH_REPORTS): Promise<RefreshResult> {
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
    return await refreshInTransaction(db, preparedDays, batchReports);
  } catch (error) {
    // The lock is taken in the transaction's first statement, whose snapshot PostgreSQL
    // takes just before. Another instance that commits its refresh in between releases
    // the lock but its watermark is not in this snapshot, so reading rollup_state FOR
    // UPDATE fails with a serialization failure. That instance has just refreshed, so
    // this round is skipped as if the lock had been held.
    if (findPostgresError(error, SERIALIZATION_FAILURE)) {
      return { ran: false, reports: 0, more: false, watermark: '', previousWatermark: '' };
    }
    throw error;
  }
}

async function refreshInTransaction(db: Database, preparedDays: ReadonlySet<number>, batchReports: number): Promise<RefreshResult> {
  return db.transaction(
    async (transaction) => {
      // One refresh at a time across every instance on the database.
      if (!(await tryTransactionLock(transaction, LOCK_KEYS.rollups))) {
        return { ran: false, reports: 0, more: false, watermark: '', previousWatermark: '' };
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
        return { ran: true, reports: 0, more: false, watermark: bounds?.low ?? '0', previousWatermark: bounds?.low ?? '0' };
      }

      // Past the batch limit, the batch ends at a transaction boundary: every report of
      // the transaction ids below the new high is taken, so it may exceed the limit by one
      // transaction's reports. The limit is above the watermark, so each round progresses.
      const [limit] = await queryRows<{ xid: string }>(
        transaction,
        sql`SELECT xid::text AS xid FROM reports
            WHERE xid > ${bounds.low}::xid8 AND xid < ${bounds.high}::xid8
            ORDER BY xid OFFSET ${batchReports} LIMIT 1`,
      );
      const more = limit !== undefined;
      const high = limit?.xid ?? bounds.high;

      // A report of a new day may have committed after the days were listed. Its rollup
      // partitions do not exist yet, so this round stops and the next one creates them.
      const batchDays = await queryRows<{ day: Date | string; reports: number | string }>(
        transaction,
        sql`SELECT date_trunc('day', time, 'UTC') AS day, count(*) AS reports
            FROM reports WHERE xid >= ${bounds.low}::xid8 AND xid < ${high}::xid8
            GROUP BY 1`,
      );
      if (batchDays.some((row) => !preparedDays.has(new Date(row.day).getTime()))) {
        return { ran: true, reports: 0, more: true, watermark: bounds.low, previousWatermark: bounds.low };
      }
      const reports = batchDays.reduce((total, row) => total + Number(row.reports), 0);
      await aggregateBatch(transaction, bounds.low, high);
      for (const rollup of ROLLUPS) {
        await mergeIntoRollup(transaction, rollup.table, rollup.seconds);
      }
      await invalidateChunks(transaction);
      await transaction.execute(
        sql`UPDATE rollup_state SET watermark = ${high}::xid8, refreshed_at = now() WHERE name = 'rollups'`,
      );

      return { ran: true, reports, more, watermark: high, previousWatermark: bounds.low };
    },
    { isolationLevel: 'repeatable read' },
  );
}

/**
 * Aggregates the reports with low <= xid < high per worker, layout and minute into a
 * temporary table dropped at commit. Every rollup merges from it, so each new sample is
 * converted and summed once. The per-position arrays are folded whole by the
 * `elementwise_*` aggregates, and the per-metric totals come from each minute's arrays.
 */
async function aggregateBatch(transaction: Executor, low: string, high: string): Promise<void> {
  await transaction.execute(sql`
    CREATE TEMP TABLE refresh_batch ON COMMIT DROP AS
    WITH minutes AS (
      SELECT company_id, worker_id, layout_id, to_timestamp(floor(extract(epoch FROM time) / 60) * 60) AS bucket,
             count(*)::int AS reports, count(task_id)::int AS task_reports,
             elementwise_min("values") AS mins, elementwise_max("values") AS maxs,
             elementwise_sum("values"::text::numeric[]) AS sums
      FROM reports
      WHERE xid >= ${low}::xid8 AND xid < ${high}::xid8
      GROUP BY 1, 2, 3, 4
    )
    SELECT minutes.*,
           coalesce(per_metric.metric_mins, '{}') AS metric_mins, coalesce(per_metric.metric_maxs, '{}') AS metric_maxs,
           coalesce(per_metric.metric_sums, '{}') AS metric_sums, coalesce(per_metric.metric_counts, '{}') AS metric_counts
    FROM minutes
    LEFT JOIN layouts ON layouts.company_id = minutes.company_id AND layouts.id = minutes.layout_id
    CROSS JOIN LATERAL (
      SELECT array_agg(low_value ORDER BY metric) AS metric_mins, array_agg(high_value ORDER BY metric) AS metric_maxs,
             array_agg(total ORDER BY metric) AS metric_sums, array_agg(samples ORDER BY metric) AS metric_counts
      FROM (
        SELECT part.code / ${SERIES_STRIDE} AS metric, min(part.low_value) AS low_value, max(part.high_value) AS high_value,
               sum(part.total) AS total, (count(*) * minutes.reports)::int AS samples
        FROM unnest(layouts.series, minutes.mins, minutes.maxs, minutes.sums) AS part(code, low_value, high_value, total)
        GROUP BY 1
      ) AS metrics
    ) AS per_metric
  `);
}

/**
 * Merges the minute aggregates of the batch into a rollup table of `seconds` wide
 * buckets: counts and sums add up, mins and maxes take the extreme, position by position.
 */
async function mergeIntoRollup(transaction: Executor, table: string, seconds: number): Promise<void> {
  const width = sql.raw(String(seconds));
  const target = sql.raw(table);

  await transaction.execute(sql`
    INSERT INTO ${target} (company_id, worker_id, layout_id, bucket, reports, task_reports, mins, maxs, sums,
                           metric_mins, metric_maxs, metric_sums, metric_counts)
    SELECT company_id, worker_id, layout_id, to_timestamp(floor(extract(epoch FROM bucket) / ${width}) * ${width}),
           sum(reports)::int, sum(task_reports)::int,
           elementwise_min(mins), elementwise_max(maxs), elementwise_sum(sums),
           elementwise_min(metric_mins), elementwise_max(metric_maxs), elementwise_sum(metric_sums), elementwise_sum(metric_counts)
    FROM refresh_batch
    GROUP BY 1, 2, 3, 4
    ON CONFLICT (company_id, worker_id, layout_id, bucket) DO UPDATE SET
      reports = ${target}.reports + excluded.reports,
      task_reports = ${target}.task_reports + excluded.task_reports,
      mins = elementwise_least(${target}.mins, excluded.mins),
      maxs = elementwise_greatest(${target}.maxs, excluded.maxs),
      sums = elementwise_add(${target}.sums, excluded.sums),
      metric_mins = elementwise_least(${target}.metric_mins, excluded.metric_mins),
      metric_maxs = elementwise_greatest(${target}.metric_maxs, excluded.metric_maxs),
      metric_sums = elementwise_add(${target}.metric_sums, excluded.metric_sums),
      metric_counts = elementwise_add(${target}.metric_counts, excluded.metric_counts)
  `);
}
