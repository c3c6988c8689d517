import { sql, type SQL } from 'drizzle-orm';

import { aggregationSchema } from '@/lib/schemas/workers';
import { SERIES_STRIDE } from '@/lib/stats/layout';
import { SeriesCollector, type RequestedAggregations, type StatsSeries } from '@/lib/stats/series';
import { ROLLUP_WIDTHS, type Segment } from '@/lib/stats/plan';

import { CHUNKED_ROLLUPS, type ChunkedRollup } from './chunks';
import { ChunkReader, type ChunkRow } from './chunk-reader';
import { forEachRowPipelined, hasBesidePool, queryRows, queryRowsBeside, type Database, type Executor } from './client';

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

export interface StatsQuery {
  companyId: string;
  workerIds?: string[];
  metricIndexes: number[];
  /** The metric indexes requested with each aggregation; unset requests all three for every metric. */
  aggregations?: RequestedAggregations;
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
 * The transaction ids of the reports above the watermark that a snapshot can see: from
 * the watermark up to the snapshot's first unassigned id.
 */
interface TailRange {
  watermark: string;
  xmax: string;
}

/**
 * Reads the tail range of the transaction's snapshot, and exports the snapshot when
 * asked. Call in a repeatable-read transaction, whose snapshot is fixed by its first
 * statement. With only a lower bound, a table without statistics (after a bulk load
 * with autovacuum off, say) looks a third matched to the planner. With both bounds it picks the xid index for the tail.
 */
async function selectTailRange(db: Executor, exportSnapshot = false): Promise<TailRange & { snapshot: string | null }> {
  const snapshot = exportSnapshot ? sql`pg_export_snapshot()` : sql`NULL::text`;
  const rows = await queryRows<{ watermark: string; xmax: string; snapshot: string | null }>(
    db,
    sql`SELECT watermark::text AS watermark, pg_snapshot_xmax(pg_current_snapshot())::text AS xmax, ${snapshot} AS snapshot
        FROM rollup_state WHERE name = 'rollups'`,
  );

  return { watermark: rows[0]?.watermark ?? '0', xmax: rows[0]?.xmax ?? '0', snapshot: rows[0]?.snapshot ?? null };
}

/** Selects the reports of the raw tail, a condition on `r`. */
function inTail(tail: TailRange): SQL {
  return sql`r.xid >= ${tail.watermark}::xid8 AND r.xid < ${tail.xmax}::xid8`;
}

/** A condition on raw reports `r`, and whether it selects the raw tail. */
interface RawCondition {
  condition: SQL;
  tail: boolean;
}

/**
 * Conditions on raw reports: one per raw segment selects the segment's reports, and
 * `tail` selects the reports of the rollup segments that are newer than the watermark
 * (not yet in the rollups). They are disjoint, because segments do not overlap. The tail
 * is found through the index on `xid`, so its cost grows with the reports since the
 * last refresh.
 */
function rawReportConditions(segments: Segment[], tail: TailRange): RawCondition[] {
  // One condition per raw segment: a single time range is an index condition, where
  // ranges joined by OR are a filter on every report of the worker's partitions.
  const conditions: RawCondition[] = segments
    .filter((segment) => segment.source === 'raw')
    .map((segment) => ({ condition: timeRange(sql`r.time`, segment), tail: false }));
  const tailRanges = segments.filter((segment) => segment.source !== 'raw').map((segment) => timeRange(sql`r.time`, segment));
  if (tailRanges.length > 0) {
    conditions.push({ condition: sql`${inTail(tail)} AND ${anyOf(tailRanges)}`, tail: true });
  }

  return conditions;
}

/**
 * Builds the FROM item of the reports `r` of a company that meet a raw condition. For
 * listed workers, the raw segments are read worker by worker through the (company,
 * worker, time) index. Without statistics (a new daily partition, say) the planner takes
 * the company's rows as few and scans them all through the xid index, which cost 24,000
 * rows for 100 reports in a fresh day. The tail stays on the xid index, where it is small.
 */
function reportsMeeting(companyId: string, workerIds: string[] | undefined, { condition, tail }: RawCondition): SQL {
  if (!workerIds?.length || tail) {
    const workerCondition = workerIds?.length ? sql`AND r.worker_id = ANY(${textArray(workerIds)})` : sql``;
    return sql`(SELECT * FROM reports r WHERE r.company_id = ${companyId} ${workerCondition} AND ${condition}) AS r`;
  }

  // Each listed worker once: a repeated id would read its reports twice.
  return sql`unnest(${textArray([...new Set(workerIds)])}) AS listed(worker_id)
             CROSS JOIN LATERAL (
               SELECT * FROM reports r
               WHERE r.company_id = ${companyId} AND r.worker_id = listed.worker_id AND ${condition}
               OFFSET 0
             ) AS r`;
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

/** A (worker, span) pair of a chunked segment whose rollup rows may be needed. */
interface PendingPair {
  worker: string;
  /** Span start in seconds. */
  start: number;
  /** Time of the pair's earliest report in the raw tail, in seconds; null when it has none. */
  tailFrom: number | null;
  /** End of the buckets that the pair's chunk serves, in seconds: the span start when no chunk does. */
  coveredUntil: number;
}

/**
 * Selects the (worker, span) pairs of a chunked segment that may be read from rollup
 * rows: those queued for compaction, whose chunk is missing or partial, and those with
 * reports in the raw tail. A chunk covering a tail report's bucket is not used, because a
 * chunk keeps averages, which cannot merge exactly with the tail's sums. Each pair comes
 * with the end of what its chunk serves, so that the rollup rows past it can be read
 * while the chunks are.
 */
async function selectPendingPairs(
  transaction: Executor,
  rollup: ChunkedRollup,
  segment: Segment,
  query: StatsQuery,
  tail: TailRange,
  workerCondition: (alias: string) => SQL,
): Promise<PendingPair[]> {
  const firstStart = Math.floor(segment.from / rollup.span) * rollup.span;
  const span = sql.raw(String(rollup.span));
  const rows = await queryRows<{ worker: string; start: number | string; tail_from: number | string | null; complete_before: number | string | null }>(
    transaction,
    sql`SELECT pairs.worker, pairs.start, pairs.tail_from,
               -- Compaction writes every metric and aggregation of a pair with the same
               -- cover, so one row of one partition tells it.
               (SELECT extract(epoch FROM c.complete_before)::float8
                FROM ${sql.raw(rollup.chunkTable)} c
                WHERE c.company_id = ${query.companyId} AND c.worker_id = pairs.worker
                  AND c.chunk_start = to_timestamp(pairs.start) AND c.aggregation = 'avg'
                LIMIT 1) AS complete_before
        FROM (
          SELECT worker, start, min(tail_time) AS tail_from
          FROM (
            SELECT q.worker_id AS worker, extract(epoch FROM q.chunk_start)::float8 AS start, NULL::float8 AS tail_time
            FROM chunk_queue q
            WHERE q.company_id = ${query.companyId} AND q.source = ${rollup.source} ${workerCondition('q')}
              AND q.chunk_start >= to_timestamp(${firstStart}::float8) AND q.chunk_start < to_timestamp(${segment.to}::float8)
            UNION ALL
            SELECT r.worker_id, floor(extract(epoch FROM r.time) / ${span}) * ${span}, extract(epoch FROM r.time)::float8
            FROM reports r
            WHERE r.company_id = ${query.companyId} ${workerCondition('r')} AND ${inTail(tail)}
              AND ${timeRange(sql`r.time`, segment)}
          ) AS candidates
          GROUP BY 1, 2
        ) AS pairs`,
  );

  return rows.map((row) => {
    const start = Number(row.start);
    const tailFrom = row.tail_from === null ? null : Number(row.tail_from);
    const completeBefore = row.complete_before === null ? null : Number(row.complete_before);
    const chunkUsed = completeBefore !== null && (tailFrom === null || tailFrom >= completeBefore);

    return { worker: row.worker, start, tailFrom, coveredUntil: chunkUsed ? completeBefore : start };
  });
}

/** Selects the rollup rows of the pending pairs past what their chunks serve, a condition on `ro`. */
function pendingRowsCondition(rollup: ChunkedRollup, pending: PendingPair[]): SQL {
  const workersByRange = new Map<string, { from: number; to: number; workers: string[] }>();
  for (const pair of pending) {
    const from = pair.coveredUntil;
    const to = pair.start + rollup.span;
    if (from >= to) {
      continue;
    }
    const range = workersByRange.get(`${from}:${to}`) ?? { from, to, workers: [] };
    range.workers.push(pair.worker);
    workersByRange.set(`${from}:${to}`, range);
  }

  return anyOf(
    [...workersByRange.values()].map(
      ({ from, to, workers }) =>
        sql`(ro.bucket >= to_timestamp(${from}::float8) AND ro.bucket < to_timestamp(${to}::float8)
             AND ro.worker_id = ANY(${textArray(workers)}))`,
    ),
  );
}

/**
 * Reads the chunks of a chunked segment into the collector through `reader`, keeping
 * the buckets inside the segment that the chunk covers. A chunk covering a bucket of a raw tail report is
 * skipped, because the pair's rollup rows are read instead. Only the requested
 * aggregations of each metric are read. The statement is sent without waiting for the
 * ones before it, and the returned promise settles once its chunks are in the collector.
 */
function collectChunks(
  transaction: Executor,
  collector: SeriesCollector,
  reader: ChunkReader,
  rollup: ChunkedRollup,
  segment: Segment,
  query: StatsQuery,
  pending: PendingPair[],
  workerCondition: (alias: string) => SQL,
): Promise<void> {
  const firstStart = Math.floor(segment.from / rollup.span) * rollup.span;
  const tailPairs = pending.filter((pair) => pair.tailFrom !== null);
  // One condition per requested aggregation, which also leaves out the partitions of the others.
  const requested = aggregationSchema.options.map((aggregation) => ({
    aggregation,
    metrics: query.aggregations?.[aggregation] ?? query.metricIndexes,
  }))
    .filter(({ metrics }) => metrics.length > 0)
    .map(({ aggregation, metrics }) => sql`(c.aggregation = ${aggregation} AND c.metric = ANY(${intArray(metrics)}))`);

  // The anti-join costs a probe per chunk row even when empty, so it is left out then.
  const tailExclusion =
    tailPairs.length === 0
      ? sql``
      : sql`AND NOT EXISTS (
              SELECT 1
              FROM unnest(${textArray(tailPairs.map((pair) => pair.worker))},
                          ${floatArray(tailPairs.map((pair) => pair.start))},
                          ${floatArray(tailPairs.map((pair) => pair.tailFrom ?? 0))}) AS tail(worker_id, start, tail_from)
              WHERE tail.worker_id = c.worker_id AND c.chunk_start = to_timestamp(tail.start)
                AND to_timestamp(tail.tail_from) < c.complete_before)`;

  const read = forEachRowPipelined<ChunkRow>(
    transaction,
    sql`SELECT c.worker_id AS worker, c.metric, c.aggregation, extract(epoch FROM c.chunk_start)::float8 AS start,
               extract(epoch FROM c.complete_before)::float8 AS covered_until, c.packed
        FROM ${sql.raw(rollup.chunkTable)} c
        WHERE c.company_id = ${query.companyId} ${workerCondition('c')}
          AND ${anyOf(requested)}
          AND c.chunk_start >= to_timestamp(${firstStart}::float8) AND c.chunk_start < to_timestamp(${segment.to}::float8)
          ${tailExclusion}`,
    (row) => reader.add(row),
  );

  return read.then(() => reader.appendTo(collector));
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
      // When chunks are read, the statement of the rollup rows and raw edges runs beside
      // theirs on another connection, in this transaction's snapshot.
      const readsChunks = query.segments.some((segment) => chunkedRollupFor(segment, query) !== undefined);
      const tail = await selectTailRange(transaction, readsChunks && hasBesidePool(db));
      // Grouping a week of buckets for a hundred workers sorts tens of MB; the default
      // 4 MB would spill it to disk. Pipelined statements are prepared, and each is
      // planned for its own worker lists and time ranges.
      await transaction.execute(
        sql`SELECT set_config('work_mem', '64MB', true), set_config('plan_cache_mode', 'force_custom_plan', true)`,
      );

      const collector = new SeriesCollector(query.aggregations);
      // The chunks' and the rollup rows' statements, sent without waiting for the ones before.
      const reads: Promise<void>[] = [];
      const readers: ChunkReader[] = [];
      const parts: SQL[] = rawReportConditions(query.segments, tail).map(
        (condition) =>
          sql`SELECT r.worker_id, u.code, ${bucketStart(sql`r.time`, interval)} AS bucket,
                     min(u.value) AS mn, max(u.value) AS mx, sum(u.value::text::numeric) AS sm, count(*) AS cnt
              FROM ${reportsMeeting(query.companyId, query.workerIds, condition)}
              -- A lateral lookup with OFFSET 0 keeps the reports as the outer side: with no
              -- statistics the planner would otherwise scan the reports once per layout.
              CROSS JOIN LATERAL (
                SELECT layout.series FROM layouts layout
                WHERE layout.company_id = r.company_id AND layout.id = r.layout_id
                OFFSET 0
              ) AS l
              CROSS JOIN LATERAL unnest(l.series, r.values) AS u(code, value)
              WHERE ${metricCondition}
              GROUP BY 1, 2, 3`,
      );
      for (const source of ROLLUP_SOURCES) {
        const table = sql.raw(`rollups_${source}`);
        for (const segment of query.segments.filter((candidate) => candidate.source === source)) {
          // A chunked segment reads rollup rows only for the pairs that have no usable chunk.
          let rollupCondition = sql`ro.company_id = ${query.companyId} ${workerCondition('ro')} AND ${timeRange(sql`ro.bucket`, segment)}`;
          const chunked = chunkedRollupFor(segment, query);
          if (chunked) {
            const pending = await selectPendingPairs(transaction, chunked, segment, query, tail, workerCondition);
            const reader = new ChunkReader(chunked, segment);
            readers.push(reader);
            reads.push(collectChunks(transaction, collector, reader, chunked, segment, query, pending, workerCondition));
            if (pending.length === 0) {
              continue;
            }
            rollupCondition = sql`${rollupCondition} AND ${pendingRowsCondition(chunked, pending)}`;
          }

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
        const rows = queryRowsBeside<{
          worker: string;
          series: number | string;
          bucket: number | string;
          avg: number | string;
          min: number | string;
          max: number | string;
        }>(
          db,
          transaction,
          tail.snapshot,
          sql`SELECT worker_id AS worker, ${groupSeries} AS series, bucket,
                     (sum(sm) / sum(cnt))::float8 AS avg, min(mn) AS min, max(mx) AS max
              FROM (${sql.join(parts, sql` UNION ALL `)}) AS partials
              GROUP BY 1, 2, 3
              ORDER BY 1, 2, 3`,
        );
        reads.push(
          rows.then((found) => {
            // Rows arrive ordered by worker and series, so consecutive rows share their entry.
            let entry: ReturnType<SeriesCollector['entry']> | undefined;
            for (const row of found) {
              const series = Number(row.series);
              const metric = query.splitByVariant ? Math.floor(series / SERIES_STRIDE) : series;
              const code = query.splitByVariant ? series : null;
              if (entry?.worker !== row.worker || entry.metric !== metric || entry.series !== code) {
                entry = collector.entry(row.worker, metric, code);
              }
              SeriesCollector.push(entry, Number(row.bucket), Number(row.avg), Number(row.min), Number(row.max));
            }
          }),
        );
      }
      await Promise.all(reads);

      const found = collector.finish();
      // The series hold copies of the chunk runs, so their memory can serve later queries.
      for (const reader of readers) {
        reader.release();
      }
      return found;
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
      const tail = await selectTailRange(transaction);

      const parts: SQL[] = rawReportConditions(query.segments, tail).map(
        ({ condition }) =>
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

function floatArray(values: readonly number[]): SQL {
  return sql`${`{${values.join(',')}}`}::float8[]`;
}
