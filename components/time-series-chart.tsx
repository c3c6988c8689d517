'use client';

import { CartesianGrid, Legend, Line, LineChart, Tooltip, XAxis, YAxis } from 'recharts';

import type { ChartData } from '@/lib/client/chart-data';
import type { YDomain } from '@/lib/client/metric-charts';
import { buildTimeTicks, formatAxisTime, formatDateTime, formatMetricValue } from '@/lib/client/format';

/** Line colours, cycled when a chart has more series (cores, GPUs) than colours. */
const SERIES_COLORS = [
  '#4f9cf9',
  '#f5a524',
  '#2fbf71',
  '#e5484d',
  '#a78bfa',
  '#22c3d6',
  '#f472b6',
  '#a3e635',
  '#fb923c',
  '#94a3b8',
];

/** Above this many series the legend would take more room than the lines. */
const MAX_LEGEND_SERIES = 16;

/** Below this many buckets each point gets a dot, so a single sample stays visible. */
const MAX_POINTS_WITH_DOTS = 30;

const CHART_HEIGHT_PX = 220;

export interface TimeSeriesChartProps {
  /** Visible title; the accessible name is the title followed by "chart". */
  title: string;
  unit: string;
  data: ChartData;
  /** X range in milliseconds since the epoch. */
  fromMs: number;
  toMs: number;
  yDomain?: YDomain;
  /** `stepAfter` for counts per bucket, `monotone` for sampled measurements. */
  curve?: 'monotone' | 'stepAfter';
  /** Counts have whole-number ticks and values. */
  integerValues?: boolean;
  description?: string;
}

/**
 * Renders a time series line chart. The figure exposes `data-point-count` (buckets with
 * data) and `data-series-count` (lines) so tests can count what is drawn.
 */
export function TimeSeriesChart({
  title,
  unit,
  data,
  fromMs,
  toMs,
  yDomain = ['auto', 'auto'],
  curve = 'monotone',
  integerValues = false,
  description,
}: TimeSeriesChartProps) {
  const rangeSeconds = (toMs - fromMs) / 1000;
  const formatValue = (value: number) => (integerValues ? String(value) : formatMetricValue(value, unit));

  return (
    <figure
      className="chart"
      aria-label={`${title} chart`}
      data-point-count={data.pointCount}
      data-series-count={data.series.length}
    >
      <figcaption className="chart-title">
        {title} <span className="chart-unit">{unit}</span>
      </figcaption>
      {description ? <p className="chart-description">{description}</p> : null}
      {data.pointCount === 0 ? (
        <p className="chart-empty" style={{ height: CHART_HEIGHT_PX }}>
          No data in this range
        </p>
      ) : (
        <LineChart
          responsive
          style={{ width: '100%', height: CHART_HEIGHT_PX }}
          data={data.rows}
          margin={{ top: 8, right: 12, bottom: 0, left: 0 }}
        >
          <CartesianGrid stroke="var(--chart-grid)" strokeDasharray="3 3" />
          <XAxis
            dataKey="time"
            type="number"
            scale="time"
            domain={[fromMs, toMs]}
            allowDataOverflow
            ticks={buildTimeTicks(fromMs, toMs)}
            tickFormatter={(time: number) => formatAxisTime(time, rangeSeconds)}
            stroke="var(--text-muted)"
            fontSize={12}
          />
          <YAxis
            domain={[yDomain[0], yDomain[1]]}
            allowDecimals={!integerValues}
            stroke="var(--text-muted)"
            fontSize={12}
            width={56}
          />
          <Tooltip
            labelFormatter={(time) => (typeof time === 'number' ? formatDateTime(time) : String(time))}
            formatter={(value) => (typeof value === 'number' ? formatValue(value) : String(value))}
            contentStyle={{ background: 'var(--surface-raised)', border: '1px solid var(--border)' }}
            isAnimationActive={false}
          />
          {data.series.length <= MAX_LEGEND_SERIES ? <Legend wrapperStyle={{ fontSize: 12 }} /> : null}
          {data.series.map((series, index) => (
            <Line
              key={series.key}
              dataKey={series.key}
              name={series.label}
              type={curve}
              stroke={SERIES_COLORS[index % SERIES_COLORS.length]}
              strokeWidth={1.5}
              dot={data.pointCount <= MAX_POINTS_WITH_DOTS ? { r: 2 } : false}
              connectNulls={false}
              isAnimationActive={false}
            />
          ))}
        </LineChart>
      )}
    </figure>
  );
}
