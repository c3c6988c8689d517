import type { MetricKey } from '@/lib/schemas/workers';

/** One chart of the worker page: metrics that share a unit, drawn on one y axis. */
export interface MetricChartDefinition {
  /** Accessible name of the chart, also its title: "CPU usage" becomes "CPU usage chart". */
  title: string;
  section: MetricSection;
  unit: string;
  metrics: readonly MetricKey[];
  /** Y range: fixed for percent, from 0 for amounts and rates; absent means fit to the data. */
  yDomain?: YDomain;
}

/** Lower and upper bound of a y axis; `auto` fits that bound to the data. */
export type YDomain = readonly [number | 'auto', number | 'auto'];

const PERCENT: YDomain = [0, 100];
const FROM_ZERO: YDomain = [0, 'auto'];

export const METRIC_SECTIONS = ['CPU', 'GPU', 'Memory', 'Network', 'Disk'] as const;
export type MetricSection = (typeof METRIC_SECTIONS)[number];

/**
 * Charts in display order. Units are those the daemons report: usage and free disk in
 * percent, memory in MB, network and disk throughput in MB/s, temperatures in °C.
 */
export const METRIC_CHARTS: readonly MetricChartDefinition[] = [
  { title: 'CPU usage', section: 'CPU', unit: '%', metrics: ['cpu_usage'], yDomain: PERCENT },
  { title: 'CPU temperature', section: 'CPU', unit: '°C', metrics: ['cpu_temperature'] },
  { title: 'GPU usage', section: 'GPU', unit: '%', metrics: ['gpu_usage'], yDomain: PERCENT },
  {
    title: 'GPU memory',
    section: 'GPU',
    unit: 'MB',
    metrics: ['gpu_memory_used', 'gpu_memory_free'],
    yDomain: FROM_ZERO,
  },
  { title: 'GPU temperature', section: 'GPU', unit: '°C', metrics: ['gpu_temperature'] },
  { title: 'Memory', section: 'Memory', unit: 'MB', metrics: ['memory_used', 'memory_free'], yDomain: FROM_ZERO },
  { title: 'Network', section: 'Network', unit: 'MB/s', metrics: ['network_rx', 'network_tx'], yDomain: FROM_ZERO },
  { title: 'Disk I/O', section: 'Disk', unit: 'MB/s', metrics: ['disk_read', 'disk_write'], yDomain: FROM_ZERO },
  { title: 'Disk free', section: 'Disk', unit: '%', metrics: ['disk_free_home', 'disk_free_temp'], yDomain: PERCENT },
];

/** Legend names of the metrics, short because the chart title gives the context. */
const METRIC_LABELS: Partial<Record<string, string>> = {
  cpu_usage: 'CPU usage',
  cpu_temperature: 'CPU temperature',
  gpu_usage: 'GPU usage',
  gpu_temperature: 'GPU temperature',
  gpu_memory_used: 'used',
  gpu_memory_free: 'free',
  memory_used: 'used',
  memory_free: 'free',
  network_rx: 'received',
  network_tx: 'sent',
  disk_read: 'read',
  disk_write: 'write',
  disk_free_home: 'home directory',
  disk_free_temp: 'temp directory',
};

/** Metrics drawn alone in their chart, so a variant's legend needs only the device name. */
const SINGLE_METRIC_CHARTS = new Set(['cpu_usage', 'cpu_temperature', 'gpu_usage', 'gpu_temperature']);

/**
 * Names one series in a legend. Variant `total` is the scalar value; other variants are
 * device indexes: cores for cpu_usage, sensors for cpu_temperature, cards for gpu_* metrics.
 */
export function seriesLabel(metric: string, variant?: string): string {
  const metricLabel = METRIC_LABELS[metric] ?? metric;
  if (variant === undefined || variant === 'total') return metricLabel;

  let device = variant;
  if (metric === 'cpu_usage') device = `core ${variant}`;
  else if (metric === 'cpu_temperature') device = `sensor ${variant}`;
  else if (metric.startsWith('gpu_')) device = `GPU ${variant}`;

  return SINGLE_METRIC_CHARTS.has(metric) ? device : `${device} ${metricLabel}`;
}

/** Charts that have at least one metric among the worker's reported metric keys. */
export function chartsForMetricKeys(reportedKeys: ReadonlySet<string>): MetricChartDefinition[] {
  return METRIC_CHARTS.filter((chart) => chart.metrics.some((metric) => reportedKeys.has(metric)));
}
