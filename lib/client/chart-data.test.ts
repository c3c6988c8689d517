import { describe, expect, it } from 'vitest';

import type { MetricStats } from '@/lib/schemas/workers';

import { buildActivityChartData, buildMetricChartData } from './chart-data';

function metricStats(metric: string, variant: string | undefined, dates: number[], values: number[]): MetricStats {
  return {
    metric,
    ...(variant === undefined ? {} : { variant }),
    dates,
    stats: [
      { aggregation: 'avg', dates, values },
      { aggregation: 'max', dates, values: values.map((value) => value + 1000) },
    ],
  };
}

describe('buildMetricChartData', () => {
  it('merges metrics into rows keyed by bucket start', () => {
    const data = buildMetricChartData(
      [metricStats('memory_free', undefined, [60, 120], [10, 20]), metricStats('memory_used', undefined, [60, 120], [1, 2])],
      ['memory_used', 'memory_free'],
      60,
    );

    expect(data.series).toEqual([
      { key: 's0', label: 'used' },
      { key: 's1', label: 'free' },
    ]);
    expect(data.rows).toEqual([
      { time: 60_000, s0: 1, s1: 10 },
      { time: 120_000, s0: 2, s1: 20 },
    ]);
    expect(data.pointCount).toBe(2);
  });

  it('orders variants by device index', () => {
    const data = buildMetricChartData(
      [
        metricStats('cpu_usage', '10', [0], [3]),
        metricStats('cpu_usage', '2', [0], [2]),
        metricStats('cpu_usage', '0', [0], [1]),
      ],
      ['cpu_usage'],
      15,
    );

    expect(data.series.map((series) => series.label)).toEqual(['core 0', 'core 2', 'core 10']);
    expect(data.rows).toEqual([{ time: 0, s0: 1, s1: 2, s2: 3 }]);
  });

  it('uses the requested aggregation', () => {
    const data = buildMetricChartData([metricStats('cpu_usage', undefined, [0], [5])], ['cpu_usage'], 15, 'max');

    expect(data.rows).toEqual([{ time: 0, s0: 1005 }]);
  });

  it('ignores metrics of other charts', () => {
    const data = buildMetricChartData([metricStats('gpu_usage', undefined, [0], [5])], ['cpu_usage'], 15);

    expect(data).toEqual({ series: [], rows: [], pointCount: 0 });
  });

  it('breaks the line over a silent stretch', () => {
    // 15 s buckets: holes up to 120 s are joined, a 135 s hole gets an empty row.
    const data = buildMetricChartData([metricStats('cpu_usage', undefined, [0, 120, 255], [1, 2, 3])], ['cpu_usage'], 15);

    expect(data.rows).toEqual([
      { time: 0, s0: 1 },
      { time: 120_000, s0: 2 },
      { time: 135_000, s0: null },
      { time: 255_000, s0: 3 },
    ]);
    expect(data.pointCount).toBe(3);
  });

  it('fills a series missing from a bucket with null', () => {
    const data = buildMetricChartData(
      [metricStats('network_rx', undefined, [0, 60], [1, 2]), metricStats('network_tx', undefined, [60], [5])],
      ['network_rx', 'network_tx'],
      60,
    );

    expect(data.rows).toEqual([
      { time: 0, s0: 1, s1: null },
      { time: 60_000, s0: 2, s1: 5 },
    ]);
  });
});

describe('buildActivityChartData', () => {
  it('pairs total and active counts by bucket', () => {
    const data = buildActivityChartData(
      {
        total: { dates: [0, 60, 120], counts: [3, 4, 0] },
        active: { dates: [0, 60, 120], counts: [1, 2, 0] },
      },
      60,
    );

    expect(data.rows).toEqual([
      { time: 0, total: 3, active: 1 },
      { time: 60_000, total: 4, active: 2 },
      { time: 120_000, total: 0, active: 0 },
      { time: 180_000, total: 0, active: 0 },
    ]);
    expect(data.pointCount).toBe(3);
    expect(data.series.map((series) => series.key)).toEqual(['total', 'active']);
  });

  it('returns no rows for an empty report', () => {
    const data = buildActivityChartData({ total: { dates: [], counts: [] }, active: { dates: [], counts: [] } }, 60);

    expect(data).toEqual({ series: expect.any(Array), rows: [], pointCount: 0 });
  });
});
