import type { Aggregation, GetActivityReportResponse, MetricStats } from '@/lib/schemas/workers';

import { seriesLabel } from './metric-charts';

/** One line of a chart; `key` names the property that contains its values in every row. */
export interface ChartSeries {
  key: string;
  label: string;
}

/** One x position: `time` in milliseconds since the epoch, then one value per series key. */
export type ChartRow = { time: number } & Record<string, number | null>;

/** Props-ready chart data; `pointCount` counts buckets with data, not the gap markers. */
export interface ChartData {
  series: ChartSeries[];
  rows: ChartRow[];
  pointCount: number;
}

/**
 * A line breaks where consecutive buckets are further apart than this many intervals and
 * also further than MIN_GAP_SECONDS: the worker sent nothing then. Shorter holes are
 * joined because a daemon that reports less often than the bucket interval leaves empty
 * buckets on every period.
 */
const GAP_INTERVALS = 5;
const MIN_GAP_SECONDS = 120;

function compareVariants(left: string | undefined, right: string | undefined): number {
  const leftNumber = left === undefined || left === 'total' ? -1 : Number(left);
  const rightNumber = right === undefined || right === 'total' ? -1 : Number(right);
  if (Number.isNaN(leftNumber) || Number.isNaN(rightNumber)) return String(left).localeCompare(String(right));

  return leftNumber - rightNumber;
}

/**
 * Reshapes one worker's get_stats metrics into rows for a chart of `chartMetrics`.
 * Series follow the order of `chartMetrics`, then variants by device index. Dates are
 * bucket starts in seconds and `interval` is the bucket size in seconds.
 */
export function buildMetricChartData(
  metrics: readonly MetricStats[],
  chartMetrics: readonly string[],
  interval: number,
  aggregation: Aggregation = 'avg',
): ChartData {
  const selected = metrics
    .filter((entry) => chartMetrics.includes(entry.metric))
    .sort(
      (left, right) =>
        chartMetrics.indexOf(left.metric) - chartMetrics.indexOf(right.metric) ||
        compareVariants(left.variant, right.variant),
    );

  const series: ChartSeries[] = [];
  const valuesByDate = new Map<number, Record<string, number>>();
  selected.forEach((entry, index) => {
    const stats = entry.stats.find((candidate) => candidate.aggregation === aggregation);
    if (!stats) return;

    const key = `s${index}`;
    series.push({ key, label: seriesLabel(entry.metric, entry.variant) });
    stats.dates.forEach((date, position) => {
      const values = valuesByDate.get(date) ?? {};
      values[key] = stats.values[position];
      valuesByDate.set(date, values);
    });
  });

  const dates = [...valuesByDate.keys()].sort((left, right) => left - right);
  const emptyRow = Object.fromEntries(series.map(({ key }) => [key, null])) as Record<string, null>;
  const gapSeconds = Math.max(GAP_INTERVALS * interval, MIN_GAP_SECONDS);
  const rows: ChartRow[] = [];
  dates.forEach((date, position) => {
    const previous = dates[position - 1];
    if (previous !== undefined && date - previous > gapSeconds) {
      rows.push({ ...emptyRow, time: (previous + interval) * 1000 });
    }
    rows.push({ ...emptyRow, ...valuesByDate.get(date), time: date * 1000 });
  });

  return { series, rows, pointCount: dates.length };
}

export const ACTIVITY_SERIES: readonly ChartSeries[] = [
  { key: 'total', label: 'reporting workers' },
  { key: 'active', label: 'workers running a task' },
];

/**
 * Reshapes a get_activity_report response into rows keyed by bucket start. A closing row at
 * the end of the last bucket (`interval` seconds) gives that bucket its width in a step chart.
 */
export function buildActivityChartData(report: GetActivityReportResponse, interval: number): ChartData {
  const activeByDate = new Map(report.active.dates.map((date, position) => [date, report.active.counts[position]]));
  const rows: ChartRow[] = report.total.dates.map((date, position) => ({
    time: date * 1000,
    total: report.total.counts[position],
    active: activeByDate.get(date) ?? 0,
  }));

  const lastRow = rows.at(-1);
  const pointCount = rows.length;
  if (lastRow) rows.push({ ...lastRow, time: lastRow.time + interval * 1000 });

  return { series: [...ACTIVITY_SERIES], rows, pointCount };
}
