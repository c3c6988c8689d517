import { sql, type SQL } from 'drizzle-orm';

import { SERIES_STRIDE } from '@/lib/stats/layout';
import { ROLLUP_WIDTHS, type Segment } from '@/lib/stats/plan';

import { CHUNKED_ROLLUPS, type ChunkedRollup } from './chunks';
import { queryRows, type Database, type Executor } from './client';

const ROLLUP_SOURCES = ROLLUP_WIDTHS.map((width) => width.source);

/** Returns the distinct metric indexes (into METRIC_KEYS) the given workers reported (all when none given). */
export async function selectMetricIndexes(
  db: Executor,
  params: { companyId: string; workerIds?: string[] },
): Promise<number[]> {
  const workerCondition = params.workerIds?.length
    ? sql`AND wl.worker_id = ANY(${textArray(params.workerIds)})`
    : sql``;
  const rows = await queryRows<{ metric: number | string }>(
    db,
    sql`SELECT DISTINCT code / ${SERIES_STRIDE} AS metric
        FROM worker_layouts wl
        JOIN layouts l ON l.company_id = wl.company_id AND l.id = wl.layout_id
        CROSS JOIN LATERAL unnest(l.series) AS code
        WHERE wl.company_id = ${params.companyId} ${workerCondition}`,
  );

  return rows.map((row) => Number(row.metric));
}

/** One series of get_stats: a worker's metric (or metric and variant), bucket by bucket. */
export interface StatsSeries {
  worker: string;
  /** Index into METRIC_KEYS. */
  metric: number;
  /** The series code (metric and variant) when split by variant, else null. */
  series: number | null;
  /** Bucket starts in seconds since the epoch, ascending; the value arrays align with them. */
  dates: number[];
  avg: number[];
  min: number[];
  max: number[];
}

export interface StatsQuery {
  companyId: string;
  workerIds?: string[];
  metricIndexes: number[];
  interval: number;
  splitByVariant: boolean;
  segments: Segment[];
}

/** Builds the epoch-aligned start, in seconds, of the `interval` bucket of a timestamp column. */
function bucketStart(column: SQL, interval: number): SQL {
  const seconds = sql.raw(String(Math.trunc(interval)));

  return sql`(floor(extract(epoch FROM ${column}) / ${seconds}) * ${seconds})::float8`;
}

/** Bounds a timestamp column to a segment, to the microsecond as PostgreSQL stores time. */
function timeRange(column: SQL, segment: Segment): SQL {
  const upper = segment.toInclusive ? sql`<=` : sql`<`;

  return sql`(${column} >= to_timestamp(${segment.from}::float8) AND ${column} ${upper} to_timestamp(${segment.to}::float8))`;
}

function anyOf(conditions: SQL[]): SQL {
  return conditions.length === 0 ? sql`false` : sql`(${sql.join(conditions, sql` OR `)})`;
}

/**
 * Reads the refresh watermark: reports whose transaction id is below it are in the
 * rollups. Call inside the same transaction as the query that relies on it.
 */
export async function selectWatermark(db: Executor): Promise<string> {
  const rows = await queryRows<{ watermark: string }>(db, sql`SELECT watermark::text AS watermark FROM rollup_state WHERE name = 'rollups'`);

  return rows[0]?.watermark ?? '0';
}

/**
 * Conditions on raw reports: `raw` selects every report in the raw segments, `tail` the
 * reports of the rollup segments that are newer than the watermark (not yet in the
 * rollups). The two are disjoint, because segments do not overlap. The tail is found
 * through the index on `xid`, so its cost grows with the reports since the last refresh.
 */
function rawReportConditions(segments: Segment[], watermark: string): SQL[] {
  const raw = segments.filter((segment) => segment.source === 'raw').map((segment) => timeRange(sql`r.time`, segment));
  const tail = segments.filter((segment) => segment.source !== 'raw').map((segment) => timeRange(sql`r.time`, segment));
  const conditions: SQL[] = [];
  if (raw.length > 0) {
    conditions.push(anyOf(raw));
  }
  if (tail.length > 0) {
    conditions.push(sql`r.xid >= ${watermark}::xid8 AND ${anyOf(tail)}`);
  }

  return conditions;
}

/**
 * Returns the rollup whose series chunks can serve a segment: only at the rollup's own
 * width and not split by variant, because chunks keep per-metric results per bucket.
 */
function chunkedRollupFor(segment: Segment, query: StatsQuery): ChunkedRollup | undefined {
  if (query.splitByVariant) {
    return undefined;
  }

  return CHUNKED_ROLLUPS.find((rollup) => rollup.source === segment.source && rollup.width === query.interval);
}

/**
 * Selects the (worker, chunk start) pairs of a chunked segment that are read from rollup
 * rows: those queued for compaction and those with reports in the raw tail, because a
 * chunk keeps averages, which cannot merge exactly with the tail's sums.
 */
function pendingChunks(rollup: ChunkedRollup, segment: Segment, query: StatsQuery, watermark: string, workerCondition: (alias: string) => SQL): SQL {
  const firstStart = Math.floor(segment.from / rollup.span) * rollup.span;
  const span = sql.raw(String(rollup.span));

  return sql`
    SELECT q.worker_id, q.chunk_start FROM chunk_queue q
    WHERE q.company_id = ${query.companyId} AND q.source = ${rollup.source} ${workerCondition('q')}
      AND q.chunk_start >= to_timestamp(${firstStart}::float8) AND q.chunk_start < to_timestamp(${segment.to}::float8)
    UNION
    SELECT r.worker_id, to_timestamp(floor(extract(epoch FROM r.time) / ${span}) * ${span}) FROM reports r
    WHERE r.company_id = ${query.companyId} ${workerCondition('r')} AND r.xid >= ${watermark}::xid8
      AND ${timeRange(sql`r.time`, segment)}`;
}

/**
 * Collects points into series. Points of one series may arrive from several sources out
 * of order; `finish` sorts those series by date.
 */
class SeriesCollector {
  private readonly series = new Map<string, StatsSeries & { sorted: boolean }>();

  push(worker: string, metric: number, code: number | null, date: number, avg: number, min: number, max: number): void {
    const key = `${worker}\u0000${code ?? metric}`;
    let entry = this.series.get(key);
    if (!entry) {
      entry = { worker, metric, series: code, dates: [], avg: [], min: [], max: [], sorted: true };
      this.series.set(key, entry);
    }
    const count = entry.dates.length;
    if (count > 0 && entry.dates[count - 1] >= date) {
      entry.sorted = false;
    }
    entry.dates.push(date);
    entry.avg.push(avg);
    entry.min.push(min);
    entry.max.push(max);
  }

  finish(): StatsSeries[] {
    return [...this.series.values()].map(({ sorted, ...entry }) => {
      if (sorted) {
        return entry;
      }
      const order = entry.dates.map((_, index) => index).sort((a, b) => entry.dates[a] - entry.dates[b]);

      return {
        ...entry,
        dates: order.map((index) => entry.dates[index]),
        avg: order.map((index) => entry.avg[index]),
        min: order.map((index) => entry.min[index]),
        max: order.map((index) => entry.max[index]),
      };
    });
  }
}

/** Views a bytea value (a Buffer from postgres, a Uint8Array from PGlite) for big-endian reads. */
function byteView(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Reads the chunks of a chunked segment into the collector, keeping the buckets inside
 * the segment. Chunks of pending pairs are skipped, because their rollup rows are read instead.
 */
async function collectChunks(
  transaction: Executor,
  collector: SeriesCollector,
  rollup: ChunkedRollup,
  segment: Segment,
  query: StatsQuery,
  pending: SQL,
  workerCondition: (alias: string) => SQL,
): Promise<void> {
  const firstStart = Math.floor(segment.from / rollup.span) * rollup.span;
  const rows = await queryRows<{ worker: string; metric: number | string; buckets: Uint8Array; avgs: Uint8Array; mins: Uint8Array; maxs: Uint8Array }>(
    transaction,
    sql`WITH pending AS (${pending})
        SELECT c.worker_id AS worker, c.metric, c.buckets, c.avgs, c.mins, c.maxs
        FROM ${sql.raw(rollup.chunkTable)} c
        WHERE c.company_id = ${query.companyId} ${workerCondition('c')}
          AND c.metric = ANY(${intArray(query.metricIndexes)})
          AND c.chunk_start >= to_timestamp(${firstStart}::float8) AND c.chunk_start < to_timestamp(${segment.to}::float8)
          AND NOT EXISTS (SELECT 1 FROM pending p WHERE p.worker_id = c.worker_id AND p.chunk_start = c.chunk_start)
        ORDER BY c.worker_id, c.metric, c.chunk_start`,
  );

  // Rollup segments hold the buckets that start in [from, to).
  const firstBucket = Math.ceil(segment.from / rollup.width);
  const endBucket = Math.ceil(segment.to / rollup.width);
  for (const row of rows) {
    const metric = Number(row.metric);
    const buckets = byteView(row.buckets);
    const avgs = byteView(row.avgs);
    const mins = byteView(row.mins);
    const maxs = byteView(row.maxs);
    for (let index = 0; index < buckets.byteLength / 4; index++) {
      const bucket = buckets.getInt32(index * 4);
      if (bucket < firstBucket || bucket >= endBucket) {
        continue;
      }
      collector.push(row.worker, metric, null, bucket * rollup.width, avgs.getFloat64(index * 8), mins.getFloat64(index * 8), maxs.getFloat64(index * 8));
    }
  }
}

/**
 * Aggregates samples into epoch-aligned buckets of `interval` seconds, reading each
 * segment from its rollup or from raw reports, and merging the reports newer than the
 * last refresh. Partial aggregates merge exactly: min of mins, max of maxes, and the
 * average as the numeric sum over the count. Raw values enter sums as numeric over each
 * float4's shortest decimal text, as the rollups do, so both sources return equal results.
 * A segment at the width of a chunked rollup reads its series chunks, which hold the
 * values the rollup rows would return.
 */
export async function selectStatsSeries(db: Database, query: StatsQuery): Promise<StatsSeries[]> {
  const interval = query.interval;
  const metricCondition = sql`u.code / ${SERIES_STRIDE} = ANY(${intArray(query.metricIndexes)})`;
  const workerCondition = (alias: string) =>
    query.workerIds?.length ? sql`AND ${sql.raw(alias)}.worker_id = ANY(${textArray(query.workerIds)})` : sql``;
  const groupSeries = query.splitByVariant ? sql`code` : sql`code / ${SERIES_STRIDE}`;

  return db.transaction(
    async (transaction) => {
      const watermark = await selectWatermark(transaction);
      // Grouping a week of buckets for a hundred workers sorts tens of MB; the default
      // 4 MB would spill it to disk.
      await transaction.execute(sql`SET LOCAL work_mem = '64MB'`);

      const collector = new SeriesCollector();
      const parts: SQL[] = rawReportConditions(query.segments, watermark).map(
        (condition) =>
          sql`SELECT r.worker_id, u.code, ${bucketStart(sql`r.time`, interval)} AS bucket,
                     min(u.value) AS mn, max(u.value) AS mx, sum(u.value::text::numeric) AS sm, count(*) AS cnt
              FROM reports r
              JOIN layouts l ON l.company_id = r.company_id AND l.id = r.layout_id
              CROSS JOIN LATERAL unnest(l.series, r.values) AS u(code, value)
              WHERE r.company_id = ${query.companyId} ${workerCondition('r')}
                AND ${condition}
                AND ${metricCondition}
              GROUP BY 1, 2, 3`,
      );
      for (const source of ROLLUP_SOURCES) {
        const table = sql.raw(`rollups_${source}`);
        for (const segment of query.segments.filter((candidate) => candidate.source === source)) {
          // A chunked segment reads rollup rows only for the pairs that have no usable chunk.
          const chunked = chunkedRollupFor(segment, query);
          let pendingJoin = sql``;
          if (chunked) {
            const pending = pendingChunks(chunked, segment, query, watermark, workerCondition);
            await collectChunks(transaction, collector, chunked, segment, query, pending, workerCondition);
            pendingJoin = sql`JOIN (${pending}) AS pending
              ON pending.worker_id = ro.worker_id AND ro.bucket >= pending.chunk_start
             AND ro.bucket < pending.chunk_start + make_interval(secs => ${sql.raw(String(chunked.span))})`;
          }
          const rollupCondition = sql`ro.company_id = ${query.companyId} ${workerCondition('ro')} AND ${timeRange(sql`ro.bucket`, segment)}`;

          // Split by variant: one partial per position of the layout, each counting one
          // sample per report. Otherwise the per-metric totals, which count their samples.
          parts.push(
            query.splitByVariant
              ? sql`SELECT ro.worker_id, u.code, ${bucketStart(sql`ro.bucket`, interval)} AS bucket,
                           min(u.mn) AS mn, max(u.mx) AS mx, sum(u.sm) AS sm, sum(ro.reports) AS cnt
                    FROM ${table} ro
                    JOIN layouts l ON l.company_id = ro.company_id AND l.id = ro.layout_id
                    CROSS JOIN LATERAL unnest(l.series, ro.mins, ro.maxs, ro.sums) AS u(code, mn, mx, sm)
                    WHERE ${rollupCondition} AND ${metricCondition}
                    GROUP BY 1, 2, 3`
              : // One row per rollup row and metric, not grouped here: the outer query groups
                // once, and a worker usually has one layout, so grouping here would not merge rows.
                sql`SELECT ro.worker_id, wanted.metric * ${SERIES_STRIDE} AS code,
                           ${bucketStart(sql`ro.bucket`, interval)} AS bucket,
                           ro.metric_mins[wanted.slot] AS mn, ro.metric_maxs[wanted.slot] AS mx,
                           ro.metric_sums[wanted.slot] AS sm, ro.metric_counts[wanted.slot]::bigint AS cnt
                    FROM ${table} ro
                    ${pendingJoin}
                    JOIN layouts l ON l.company_id = ro.company_id AND l.id = ro.layout_id
                    CROSS JOIN LATERAL (
                      SELECT requested.metric, array_position(l.metrics, requested.metric::smallint) AS slot
                      FROM unnest(${intArray(query.metricIndexes)}) AS requested(metric)
                    ) AS wanted
                    WHERE ${rollupCondition} AND wanted.slot IS NOT NULL`,
          );
        }
      }

      if (parts.length > 0) {
        const rows = await queryRows<{
          worker: string;
          series: number | string;
          bucket: number | string;
          avg: number | string;
          min: number | string;
          max: number | string;
        }>(
          transaction,
          sql`SELECT worker_id AS worker, ${groupSeries} AS series, bucket,
                     (sum(sm) / sum(cnt))::float8 AS avg, min(mn) AS min, max(mx) AS max
              FROM (${sql.join(parts, sql` UNION ALL `)}) AS partials
              GROUP BY 1, 2, 3
              ORDER BY 1, 2, 3`,
        );
        for (const row of rows) {
          const series = Number(row.series);
          collector.push(
            row.worker,
            query.splitByVariant ? Math.floor(series / SERIES_STRIDE) : series,
            query.splitByVariant ? series : null,
            Number(row.bucket),
            Number(row.avg),
            Number(row.min),
            Number(row.max),
          );
        }
      }

      return collector.finish();
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
}

export interface ActivityRow {
  /** Bucket start, seconds since the epoch. */
  bucket: number;
  total: number;
  active: number;
}

/**
 * Counts, per bucket of `interval` seconds, the distinct workers that sent a report
 * timestamped in it, and those whose report named a task. A worker present in a rollup
 * bucket is present in the interval bucket that contains it, so presence merges exactly
 * across rollups, raw edges and the raw tail.
 */
export async function selectActivityBuckets(
  db: Database,
  query: { companyId: string; interval: number; segments: Segment[] },
): Promise<ActivityRow[]> {
  return db.transaction(
    async (transaction) => {
      const watermark = await selectWatermark(transaction);

      const parts: SQL[] = rawReportConditions(query.segments, watermark).map(
        (condition) =>
          sql`SELECT r.worker_id, ${bucketStart(sql`r.time`, query.interval)} AS bucket, bool_or(r.task_id IS NOT NULL) AS active
              FROM reports r
              WHERE r.company_id = ${query.companyId} AND ${condition}
              GROUP BY 1, 2`,
      );
      for (const source of ROLLUP_SOURCES) {
        const ranges = query.segments
          .filter((segment) => segment.source === source)
          .map((segment) => timeRange(sql`ro.bucket`, segment));
        if (ranges.length === 0) {
          continue;
        }
        parts.push(sql`SELECT ro.worker_id, ${bucketStart(sql`ro.bucket`, query.interval)} AS bucket, bool_or(ro.task_reports > 0) AS active
                       FROM ${sql.raw(`rollups_${source}`)} ro
                       WHERE ro.company_id = ${query.companyId} AND ${anyOf(ranges)}
                       GROUP BY 1, 2`);
      }

      if (parts.length === 0) {
        return [];
      }

      const rows = await queryRows<{ bucket: number | string; total: number | string; active: number | string }>(
        transaction,
        sql`SELECT bucket, count(DISTINCT worker_id)::int AS total,
                   count(DISTINCT worker_id) FILTER (WHERE active)::int AS active
            FROM (${sql.join(parts, sql` UNION ALL `)}) AS presence
            GROUP BY 1
            ORDER BY 1`,
      );

      return rows.map((row) => ({ bucket: Number(row.bucket), total: Number(row.total), active: Number(row.active) }));
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
}

/** Binds a string list as one text[] parameter, the same way on both drivers. */
export function textArray(values: readonly string[]): SQL {
  return sql`${`{${values.map((value) => `"${value.replace(/["\\]/g, '\\$&')}"`).join(',')}}`}::text[]`;
}

function intArray(values: readonly number[]): SQL {
  return sql`${`{${values.map((value) => Math.trunc(value)).join(',')}}`}::int[]`;
}
