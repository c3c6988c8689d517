import { describe, expect, test } from 'vitest';

import { mergeRuns, SeriesCollector, type SeriesPoints } from './series';

/** Builds a run whose avg values are the dates plus `offset`, so that the tests see which run a point came from. */
function run(dates: number[], offset: number): SeriesPoints {
  return { dates, avg: dates.map((date) => date + offset), min: [], max: [] };
}

describe('mergeRuns', () => {
  test('returns a single run as it is', () => {
    const only = run([1, 2, 3], 0);

    expect(mergeRuns([only])).toBe(only);
  });

  test('returns empty arrays for no runs', () => {
    expect(mergeRuns([])).toEqual({ dates: [], avg: [], min: [], max: [] });
  });

  test('adds edge runs around the longest run', () => {
    const longest = run([10, 20, 30, 40], 0);
    const edges = run([5, 50, 60], 0.5);

    const merged = mergeRuns([longest, edges]);

    expect(merged).toEqual({ dates: [5, 10, 20, 30, 40, 50, 60], avg: [5.5, 10, 20, 30, 40, 50.5, 60.5], min: [], max: [] });
    expect(longest.dates).toEqual([10, 20, 30, 40]);
  });

  test('merges runs of 200,000 points', () => {
    const longest = run(Array.from({ length: 250_000 }, (_, index) => 300_000 + index), 0);
    const before = run(Array.from({ length: 200_000 }, (_, index) => index), 0.5);

    const merged = mergeRuns([longest, before]);

    expect(merged.dates.length).toBe(450_000);
    expect(merged.dates[0]).toBe(0);
    expect(merged.dates[199_999]).toBe(199_999);
    expect(merged.dates[200_000]).toBe(300_000);
    expect(merged.avg[0]).toBe(0.5);
    expect(merged.avg[449_999]).toBe(549_999);
  });

  test('copies a typed array run into plain arrays', () => {
    const typed = { dates: Float64Array.of(60, 120), avg: Float64Array.of(1.5, 2.5), min: new Float64Array(0), max: new Float64Array(0) };

    const merged = mergeRuns([typed]);

    expect(Array.isArray(merged.dates)).toBe(true);
    expect(Array.isArray(merged.avg)).toBe(true);
    expect(merged).toEqual({ dates: [60, 120], avg: [1.5, 2.5], min: [], max: [] });
  });

  test('reuses equal shared dates', () => {
    const shared = [[1, 2, 3]];

    const merged = mergeRuns([run([1, 3], 0), run([2], 0.5)], shared);

    expect(merged.dates).toBe(shared[0]);
    expect(merged.avg).toEqual([1, 2.5, 3]);
  });

  test('does not reuse shared dates that differ', () => {
    const shared = [[1, 2, 4], [1, 2]];

    const merged = mergeRuns([run([1, 3], 0), run([2], 0.5)], shared);

    expect(merged.dates).not.toBe(shared[0]);
    expect(merged.dates).not.toBe(shared[1]);
    expect(merged.dates).toEqual([1, 2, 3]);
  });

  test('interleaves points that fall inside the longest run', () => {
    const merged = mergeRuns([run([10, 20, 30, 40], 0), run([5, 25, 45], 0.5)]);

    expect(merged.dates).toEqual([5, 10, 20, 25, 30, 40, 45]);
    expect(merged.avg).toEqual([5.5, 10, 20, 25.5, 30, 40, 45.5]);
  });

  test('keeps the earlier run first on equal dates', () => {
    const merged = mergeRuns([run([10, 20], 0), run([20, 30, 40], 0.5)]);

    expect(merged.dates).toEqual([10, 20, 20, 30, 40]);
    expect(merged.avg).toEqual([10, 20, 20.5, 30.5, 40.5]);
  });

  test('merges three interleaved runs in date order', () => {
    const merged = mergeRuns([run([1, 4, 7], 0), run([2, 5, 8], 0.25), run([3, 6, 9], 0.5)]);

    expect(merged.dates).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(merged.avg).toEqual([1, 2.25, 3.5, 4, 5.25, 6.5, 7, 8.25, 9.5]);
  });

  test('matches a stable sort of all points on random runs', () => {
    // A fixed linear congruential sequence keeps the case reproducible.
    let state = 7;
    const next = () => (state = (state * 1_103_515_245 + 12_345) % 2_147_483_648) % 50;
    for (let round = 0; round < 200; round++) {
      const runs = Array.from({ length: 1 + (round % 4) }, (_, index) => {
        const dates = Array.from({ length: next() % 12 }, () => next()).sort((a, b) => a - b);
        return run(dates, index / 10);
      });
      const expected = runs
        .flatMap((points) => points.dates.map((date, index) => ({ date, avg: points.avg[index] })))
        .sort((a, b) => a.date - b.date);

      const merged = mergeRuns(runs.map((points) => ({ ...points, dates: [...points.dates], avg: [...points.avg] })));

      expect(merged.dates).toEqual(expected.map((point) => point.date));
      expect(merged.avg).toEqual(expected.map((point) => point.avg));
    }
  });
});

describe('SeriesCollector', () => {
  test('keeps only the requested aggregations of each metric', () => {
    const collector = new SeriesCollector({ avg: [0], min: [], max: [3] });
    SeriesCollector.push(collector.entry('w1', 0, null), 60, 1.5, 1, 2);
    SeriesCollector.push(collector.entry('w1', 3, null), 60, 40, 30, 50);

    expect(collector.finish()).toEqual([
      { worker: 'w1', metric: 0, series: null, dates: [60], avg: [1.5], min: [], max: [] },
      { worker: 'w1', metric: 3, series: null, dates: [60], avg: [], min: [], max: [50] },
    ]);
  });

  test('merges an appended run with pushed points into date order', () => {
    const collector = new SeriesCollector();
    collector.append('w1', 0, { dates: [300, 600], avg: [1, 2], min: [0, 1], max: [2, 3] });
    SeriesCollector.push(collector.entry('w1', 0, null), 0, 5, 4, 6);
    SeriesCollector.push(collector.entry('w1', 0, null), 900, 7, 6, 8);

    expect(collector.finish()).toEqual([
      { worker: 'w1', metric: 0, series: null, dates: [0, 300, 600, 900], avg: [5, 1, 2, 7], min: [4, 0, 1, 6], max: [6, 2, 3, 8] },
    ]);
  });

  test('shares equal dates between series of a worker', () => {
    const collector = new SeriesCollector();
    const typed = (offset: number) => ({
      dates: Float64Array.of(300, 600),
      avg: Float64Array.of(1 + offset, 2 + offset),
      min: Float64Array.of(offset, 1 + offset),
      max: Float64Array.of(2 + offset, 3 + offset),
    });
    collector.append('w1', 0, typed(0));
    collector.append('w1', 2, typed(10));
    collector.append('w2', 0, typed(20));

    const [first, second, other] = collector.finish();

    expect(second.dates).toBe(first.dates);
    expect(other.dates).not.toBe(first.dates);
    expect(second).toEqual({ worker: 'w1', metric: 2, series: null, dates: [300, 600], avg: [11, 12], min: [10, 11], max: [12, 13] });
    expect(other).toEqual({ worker: 'w2', metric: 0, series: null, dates: [300, 600], avg: [21, 22], min: [20, 21], max: [22, 23] });
  });

  test('leaves out series without points', () => {
    const collector = new SeriesCollector();
    collector.entry('w1', 0, null);
    collector.append('w2', 0, { dates: [], avg: [], min: [], max: [] });

    expect(collector.finish()).toEqual([]);
  });
});
