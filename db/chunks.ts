import { sql, type SQL } from 'drizzle-orm';

import { queryRows, tryTransactionLock, type Database, type Executor } from './client';
import { LOCK_KEYS } from './locks';

/** A rollup whose per-metric results are also kept as series chunks. */
export interface ChunkedRollup {
  source: 'five_minutes' | 'hour';
  rollupTable: string;
  chunkTable: string;
  /** Bucket width in seconds. */
  width: number;
  /** Seconds of buckets per chunk, a multiple of the width; chunks are aligned to the epoch. */
  span: number;
}

/**
 * A day per chunk at both widths. Longer spans mean fewer rows for a query to scan and
 * decode, which is most of its cost, while a late report rebuilds a whole span and a
 * partial build of the running span rereads it.
 */
export const CHUNKED_ROLLUPS: readonly ChunkedRollup[] = [
  { source: 'five_minutes', rollupTable: 'rollups_five_minutes', chunkTable: 'chunks_five_minutes', width: 300, span: 86_400 },
  { source: 'hour', rollupTable: 'rollups_hour', chunkTable: 'chunks_hour', width: 3600, span: 86_400 },
];

/**
 * Seconds a span must have ended before its chunk is built, so that reports still in
 * flight for it usually arrive first. A later report only costs a rebuild.
 */
export const CHUNK_GRACE_SECONDS = 600;

/**
 * Seconds between two partial builds of a running span's chunk: the rollup rows of at
 * most this long plus CHUNK_GRACE_SECONDS are read past a partial chunk.
 */
export const PARTIAL_REBUILD_SECONDS = 3600;

/** (worker, span) pairs compacted per statement, which bounds how long the lock is held. */
const COMPACTION_BATCH = 200;


function chunkStartOf(column: SQL, span: number): SQL {
  const seconds = sql.raw(String(span));

  return sql`to_timestamp(floor(extract(epoch FROM ${column}) / ${seconds}) * ${seconds})`;
}

/**
 * Marks the chunks that the refresh batch changes: queues their (worker, span) pairs and
 * deletes the chunks that cover a changed bucket, so that queries read those spans from
 * the rollup rows until the compaction rebuilds them. A partial chunk of a running span
 * stays when only buckets after it changed. Runs in the refresh transaction, after the merge.
 */
export async function invalidateChunks(transaction: Executor): Promise<void> {
  for (const rollup of CHUNKED_ROLLUPS) {
    const chunkTable = sql.raw(rollup.chunkTable);
    await transaction.execute(sql`
      WITH changed AS (
        SELECT company_id, worker_id, ${chunkStartOf(sql`bucket`, rollup.span)} AS chunk_start, min(bucket) AS first_bucket
        FROM refresh_batch
        GROUP BY 1, 2, 3
      ),
      queued AS (
        INSERT INTO chunk_queue (company_id, worker_id, source, chunk_start)
        SELECT company_id, worker_id, ${rollup.source}, chunk_start FROM changed
        ON CONFLICT DO NOTHING
      )
      DELETE FROM ${chunkTable} chunk
      USING changed
      WHERE chunk.company_id = changed.company_id AND chunk.worker_id = changed.worker_id
        AND chunk.chunk_start = changed.chunk_start AND changed.first_bucket < chunk.complete_before
    `);
  }
}

export interface CompactionResult {
  /** False when a refresh held the lock, so nothing was done. */
  ran: boolean;
  /** (worker, span) pairs whose chunks were built, whole or partial. */
  compacted: number;
  /** Whether pairs due for a chunk remain for another round. */
  more: boolean;
}

/**
 * Builds, per rollup and in one transaction, the chunks of up to COMPACTION_BATCH queued
 * (worker, span) pairs whose span ended at least CHUNK_GRACE_SECONDS before `now`, and
 * removes them from the queue. Then it builds partial chunks of up to COMPACTION_BATCH
 * running spans, over their buckets that ended CHUNK_GRACE_SECONDS ago. A pair gets a
 * partial build at most once per PARTIAL_REBUILD_SECONDS, and it stays queued. Each
 * bucket's values are computed as the rollup rows' query computes them: the average as
 * the exact numeric sum over the count, and min and max through their shortest decimal
 * text.
 */
export async function compactChunks(db: Database, now: Date): Promise<CompactionResult> {
  return db.transaction(
    async (transaction) => {
      if (!(await tryTransactionLock(transaction, LOCK_KEYS.rollups))) {
        return { ran: false, compacted: 0, more: true };
      }
      // A statement packs up to COMPACTION_BATCH pairs of about 15 metrics over a day of
      // five-minute buckets: up to about 864,000 points to sort. The default 4 MB of
      // work_mem would spill them to disk.
      await transaction.execute(sql`SET LOCAL work_mem = '64MB'`);

      let compacted = 0;
      let more = false;
      for (const rollup of CHUNKED_ROLLUPS) {
        const coveredUntil = Math.floor((now.getTime() / 1000 - CHUNK_GRACE_SECONDS) / rollup.width) * rollup.width;
        for (const partial of [false, true]) {
          const [result] = await queryRows<{ pairs: number | string }>(
            transaction,
            compactionStatement(rollup, coveredUntil, partial),
          );
          const pairs = Number(result?.pairs ?? 0);
          compacted += pairs;
          more ||= pairs === COMPACTION_BATCH;
        }
      }

      return { ran: true, compacted, more };
    },
    // Read committed: each statement takes its snapshot after the lock is held, so its
    // snapshot includes every refresh committed before, and no refresh runs meanwhile.
    { isolationLevel: 'read committed' },
  );
}

/**
 * Builds chunks up to `coveredUntil` (seconds, a bucket boundary). Whole: the queued
 * spans that end by then, taken off the queue. Partial: the queued spans running then,
 * whose chunk (if any) covers less than `coveredUntil - PARTIAL_REBUILD_SECONDS`.
 */
function compactionStatement(rollup: ChunkedRollup, coveredUntil: number, partial: boolean): SQL {
  const rollupTable = sql.raw(rollup.rollupTable);
  const chunkTable = sql.raw(rollup.chunkTable);
  const width = sql.raw(String(rollup.width));
  const span = sql.raw(String(rollup.span));
  const until = sql`to_timestamp(${coveredUntil}::float8)`;

  const picked = partial
    ? sql`
      SELECT queue.company_id, queue.worker_id, queue.chunk_start, ${until} AS complete_before
      FROM chunk_queue queue
      WHERE queue.source = ${rollup.source}
        AND queue.chunk_start < ${until} AND queue.chunk_start + make_interval(secs => ${span}) > ${until}
        AND coalesce(
              (SELECT chunk.complete_before FROM ${chunkTable} chunk
               WHERE chunk.company_id = queue.company_id AND chunk.worker_id = queue.worker_id
                 AND chunk.chunk_start = queue.chunk_start
               LIMIT 1),
              queue.chunk_start) <= to_timestamp(${coveredUntil - PARTIAL_REBUILD_SECONDS}::float8)
      ORDER BY queue.chunk_start
      LIMIT ${COMPACTION_BATCH}`
    : sql`
      DELETE FROM chunk_queue queue
      USING (
        SELECT company_id, worker_id, chunk_start FROM chunk_queue
        WHERE source = ${rollup.source} AND chunk_start + make_interval(secs => ${span}) <= ${until}
        ORDER BY chunk_start
        LIMIT ${COMPACTION_BATCH}
      ) AS oldest
      WHERE queue.source = ${rollup.source} AND queue.company_id = oldest.company_id
        AND queue.worker_id = oldest.worker_id AND queue.chunk_start = oldest.chunk_start
      RETURNING queue.company_id, queue.worker_id, queue.chunk_start,
                queue.chunk_start + make_interval(secs => ${span}) AS complete_before`;

  return sql`
    WITH picked AS (${picked}),
    points AS (
      SELECT ro.company_id, ro.worker_id, picked.chunk_start, layout.metrics[slot] AS metric,
             ((extract(epoch FROM ro.bucket) - extract(epoch FROM picked.chunk_start)) / ${width})::int AS offset_in_span,
             (sum(ro.metric_sums[slot]) / sum(ro.metric_counts[slot]::bigint))::float8 AS avg,
             min(ro.metric_mins[slot])::text::float8 AS min,
             max(ro.metric_maxs[slot])::text::float8 AS max
      FROM picked
      JOIN ${rollupTable} ro
        ON ro.company_id = picked.company_id AND ro.worker_id = picked.worker_id
       AND ro.bucket >= picked.chunk_start AND ro.bucket < picked.complete_before
      JOIN layouts layout ON layout.company_id = ro.company_id AND layout.id = ro.layout_id
      CROSS JOIN LATERAL generate_subscripts(layout.metrics, 1) AS slot
      GROUP BY 1, 2, 3, 4, 5
    ),
    series AS (
      SELECT points.company_id, points.worker_id, points.chunk_start, points.metric,
             array_agg(points.offset_in_span) AS offsets, array_agg(points.avg) AS avgs,
             array_agg(points.min) AS mins, array_agg(points.max) AS maxs
      FROM points
      GROUP BY 1, 2, 3, 4
    ),
    -- Each series' slots are joined with its own points only: a join of every series'
    -- slots with every point would compare each slot with every point of its series.
    packed AS (
      SELECT series.company_id, series.worker_id, series.chunk_start, series.metric, picked.complete_before,
             slots.avgs, slots.mins, slots.maxs
      FROM series
      JOIN picked USING (company_id, worker_id, chunk_start)
      CROSS JOIN LATERAL (
        SELECT ${packedValues(sql`point.avg`)} AS avgs, ${packedValues(sql`point.min`)} AS mins,
               ${packedValues(sql`point.max`)} AS maxs
        FROM generate_series(0, ${sql.raw(String(rollup.span / rollup.width - 1))}) AS slot(number)
        LEFT JOIN unnest(series.offsets, series.avgs, series.mins, series.maxs) AS point(offset_in_span, avg, min, max)
          ON point.offset_in_span = slot.number
      ) AS slots
    ),
    written AS (
      INSERT INTO ${chunkTable} (company_id, worker_id, chunk_start, metric, complete_before, aggregation, packed)
      SELECT packed.company_id, packed.worker_id, packed.chunk_start, packed.metric, packed.complete_before,
             aggregation.name, aggregation.packed
      FROM packed
      CROSS JOIN LATERAL (VALUES ('avg', packed.avgs), ('min', packed.mins), ('max', packed.maxs)) AS aggregation(name, packed)
      ON CONFLICT (company_id, worker_id, chunk_start, metric, aggregation) DO UPDATE SET
        complete_before = excluded.complete_before, packed = excluded.packed
    )
    SELECT count(*) AS pairs FROM picked
  `;
}

/**
 * Packs a column of the span's points, one per slot in order, as base64 of big-endian
 * float8 values with NaN for empty slots, without the line breaks that encode() inserts.
 */
function packedValues(column: SQL): SQL {
  return sql`translate(encode(string_agg(float8send(coalesce(${column}, 'NaN')), ''::bytea ORDER BY slot.number), 'base64'), E'\n', '')`;
}

/** Deletes the chunks and queued spans that end before `cutoff`, as rollup retention drops their rows. */
export async function deleteChunksBefore(transaction: Executor, source: ChunkedRollup['source'], cutoff: Date): Promise<void> {
  const rollup = CHUNKED_ROLLUPS.find((candidate) => candidate.source === source);
  if (!rollup) {
    return;
  }
  const endsBefore = sql`to_timestamp(${cutoff.getTime() / 1000 - rollup.span}::float8)`;

  await transaction.execute(sql`DELETE FROM ${sql.raw(rollup.chunkTable)} WHERE chunk_start < ${endsBefore}`);
  await transaction.execute(sql`DELETE FROM chunk_queue WHERE source = ${source} AND chunk_start < ${endsBefore}`);
}
