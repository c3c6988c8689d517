import { describe, expect, test } from 'vitest';

import { SeriesCollector } from '@/lib/stats/series';

import { ChunkReader, type ChunkRow } from './chunk-reader';
import type { ChunkedRollup } from './chunks';

/** A rollup of 60 s buckets in spans of 4 buckets, small enough to write chunks by hand. */
const ROLLUP: ChunkedRollup = { source: 'five_minutes', rollupTable: 'rollups_test', chunkTable: 'chunks_test', width: 60, span: 240 };

/** Packs values as the compaction does: base64 of big-endian float8, NaN for an empty bucket. */
function pack(values: number[]): string {
  const bytes = Buffer.alloc(values.length * 8);
  values.forEach((value, index) => bytes.writeDoubleBE(value, index * 8));
  return bytes.toString('base64');
}

function row(worker: string, aggregation: ChunkRow['aggregation'], start: number, values: number[], coveredUntil = start + ROLLUP.span): ChunkRow {
  return { worker, metric: '3', aggregation, start: String(start), covered_until: String(coveredUntil), packed: pack(values) };
}

function read(rows: ChunkRow[], segment: { from: number; to: number }): ReturnType<SeriesCollector['finish']> {
  const collector = new SeriesCollector();
  const reader = new ChunkReader(ROLLUP, { source: 'five_minutes', from: segment.from, to: segment.to, toInclusive: false });
  for (const chunkRow of rows) {
    reader.add(chunkRow);
  }
  reader.appendTo(collector);
  const found = collector.finish();
  reader.release();

  return found;
}

describe('ChunkReader', () => {
  test('orders chunks by start and skips empty buckets', () => {
    const found = read(
      [row('w1', 'avg', 240, [5, NaN, 7, 8]), row('w1', 'avg', 0, [1, 2, NaN, 4])],
      { from: 0, to: 480 },
    );

    expect(found).toEqual([
      { worker: 'w1', metric: 3, series: null, dates: [0, 60, 180, 240, 360, 420], avg: [1, 2, 4, 5, 7, 8], min: [], max: [] },
    ]);
  });

  test('keeps the buckets inside the segment', () => {
    const found = read([row('w1', 'max', 0, [1, 2, 3, 4]), row('w1', 'max', 240, [5, 6, 7, 8])], { from: 120, to: 360 });

    expect(found[0].dates).toEqual([120, 180, 240, 300]);
    expect(found[0].max).toEqual([3, 4, 5, 6]);
  });

  test('stops at the cover of a partial chunk', () => {
    const found = read([row('w1', 'avg', 0, [1, 2, NaN, NaN], 120)], { from: 0, to: 480 });

    expect(found[0].dates).toEqual([0, 60]);
    expect(found[0].avg).toEqual([1, 2]);
  });

  test('joins the aggregations of a chunk sent apart', () => {
    const found = read(
      [row('w1', 'min', 0, [1, NaN, 3, 4]), row('w2', 'min', 0, [9, 9, 9, 9]), row('w1', 'max', 0, [2, NaN, 5, 6])],
      { from: 0, to: 240 },
    );

    expect(found).toEqual([
      { worker: 'w1', metric: 3, series: null, dates: [0, 120, 180], avg: [], min: [1, 3, 4], max: [2, 5, 6] },
      { worker: 'w2', metric: 3, series: null, dates: [0, 60, 120, 180], avg: [], min: [9, 9, 9, 9], max: [] },
    ]);
  });

  test('keeps its runs until release', () => {
    const segment = { source: 'five_minutes' as const, from: 0, to: 240, toInclusive: false };
    const readers = [new ChunkReader(ROLLUP, segment), new ChunkReader(ROLLUP, segment)];
    const collectors = [new SeriesCollector(), new SeriesCollector()];

    // The second reader decodes while the first one's runs wait for the collector's finish.
    readers[0].add(row('w1', 'avg', 0, [1, 2, 3, 4]));
    readers[0].appendTo(collectors[0]);
    readers[1].add(row('w1', 'avg', 0, [5, 6, 7, 8]));
    readers[1].appendTo(collectors[1]);
    const found = collectors.map((collector) => collector.finish());
    readers.forEach((reader) => reader.release());

    expect(found[0][0].avg).toEqual([1, 2, 3, 4]);
    expect(found[1][0].avg).toEqual([5, 6, 7, 8]);
  });

  test('returns equal answers from reused memory', () => {
    const rows = Array.from({ length: 2_000 }, (_, index) => row(`w${index}`, 'avg', 0, [index, index + 0.5, NaN, index + 1]));

    const first = read(rows, { from: 0, to: 240 });
    const second = read(rows.reverse(), { from: 0, to: 240 });

    expect(first).toHaveLength(2_000);
    expect(first[1_999]).toEqual({ worker: 'w1999', metric: 3, series: null, dates: [0, 60, 180], avg: [1_999, 1_999.5, 2_000], min: [], max: [] });
    expect(second[0]).toEqual(first[1_999]);
    expect(first[0].avg).toEqual([0, 0.5, 1]);
  });
});
