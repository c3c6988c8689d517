import { selectActivityBuckets, selectMetricIndexes, selectStatsSeries } from '@/db/stats';
import type { CallContext } from '@/lib/api/endpoint';
import { apiErrors } from '@/lib/api/errors';
import {
  MAX_BUCKETS_PER_SERIES,
  METRIC_KEYS,
  type Aggregation,
  type GetActivityReportRequest,
  type GetActivityReportResponse,
  type GetMetricKeysRequest,
  type GetMetricKeysResponse,
  type GetStatsRequest,
  type GetStatsResponse,
  type MetricKey,
  type MetricStats,
} from '@/lib/schemas/workers';

import { decodeSeries, metricIndex } from './layout';
import { planSegments, type Segment } from './plan';
import type { StatsSeries } from './series';
import { metricCategory } from './samples';

/** Activity intervals below this many seconds are raised to it, as the original server does. */
export const MIN_ACTIVITY_INTERVAL_SECONDS = 40;

/** A bucket is reported only when at least this share of it lies before to_date. */
const LAST_BUCKET_MIN_COVERAGE = 0.9;

/**
 * Checks that from_date is below to_date and that the range spans at most
 * MAX_BUCKETS_PER_SERIES buckets of `interval` seconds. `requestedInterval` is the
 * interval as sent, which the error names when the service raised it.
 */
function checkRange(from: number, to: number, interval: number, requestedInterval = interval): void {
  if (from >= to) {
    throw apiErrors.fieldsValue({ from_date: from, to_date: to }, `from_date (${from}) must be lower than to_date (${to})`);
  }

  const buckets = Math.floor(to / interval) - Math.floor(from / interval) + 1;
  if (buckets > MAX_BUCKETS_PER_SERIES) {
    throw apiErrors.validation(
      'interval',
      requestedInterval,
      `from_date ${from} to to_date ${to} in buckets of ${interval} s spans ${buckets} buckets, more than the maximum of ${MAX_BUCKETS_PER_SERIES} (use a larger interval or a shorter range)`,
      { from_date: from, to_date: to, buckets },
    );
  }
}

/** Returns the categories and metric keys stored for the requested workers, each list sorted. */
export async function getMetricKeys(context: CallContext, request: GetMetricKeysRequest): Promise<GetMetricKeysResponse> {
  const indexes = await selectMetricIndexes(context.db, { companyId: context.companyId, workerIds: request.worker_ids });
  const metrics: string[] = indexes.map((index) => METRIC_KEYS[index]);
  if (metrics.length === 0) {
    throw apiErrors.workerStatsNotFound(request.worker_ids);
  }

  const byCategory = new Map<string, string[]>();
  for (const metric of [...metrics].sort()) {
    const category = metricCategory(metric);
    byCategory.set(category, [...(byCategory.get(category) ?? []), metric]);
  }

  return {
    categories: [...byCategory.keys()].sort().map((name) => ({ name, metric_keys: byCategory.get(name) ?? [] })),
  };
}

/** Orders variants as `total` first, then devices by number. */
function compareVariants(a: string | null, b: string | null): number {
  if (a === b) {
    return 0;
  }
  if (a === null || a === 'total') {
    return -1;
  }
  if (b === null || b === 'total') {
    return 1;
  }

  return Number(a) - Number(b);
}

/** Source of the results: `auto` reads rollups where they apply, `raw` never does. */
export type StatsSource = 'auto' | 'raw';

function segmentsFor(from: number, to: number, interval: number, source: StatsSource): Segment[] {
  return source === 'raw'
    ? [{ source: 'raw', from, to, toInclusive: true }]
    : planSegments(from, to, interval);
}

/**
 * Aggregates samples per worker, metric (and variant) into epoch-aligned buckets.
 * Buckets with no samples are omitted; workers with no samples in range are absent.
 */
export async function getStats(
  context: CallContext,
  request: GetStatsRequest,
  source: StatsSource = 'auto',
): Promise<GetStatsResponse> {
  checkRange(request.from_date, request.to_date, request.interval);

  // Requested aggregations per metric, in request order, without repeats.
  const aggregations = new Map<MetricKey, Aggregation[]>();
  for (const item of request.items) {
    const aggregation = item.aggregation ?? item.category ?? 'avg';
    const list = aggregations.get(item.key) ?? [];
    if (!list.includes(aggregation)) {
      list.push(aggregation);
    }
    aggregations.set(item.key, list);
  }

  const found = await selectStatsSeries(context.db, {
    companyId: context.companyId,
    workerIds: request.worker_ids,
    metricIndexes: [...aggregations.keys()].map(metricIndex),
    aggregations: {
      avg: [...aggregations].filter(([, list]) => list.includes('avg')).map(([key]) => metricIndex(key)),
      min: [...aggregations].filter(([, list]) => list.includes('min')).map(([key]) => metricIndex(key)),
      max: [...aggregations].filter(([, list]) => list.includes('max')).map(([key]) => metricIndex(key)),
    },
    interval: request.interval,
    splitByVariant: request.split_by_variant ?? false,
    segments: segmentsFor(request.from_date, request.to_date, request.interval, source),
  });

  const byWorker = new Map<string, StatsSeries[]>();
  for (const series of found) {
    byWorker.set(series.worker, [...(byWorker.get(series.worker) ?? []), series]);
  }

  const metricOrder = [...aggregations.keys()];
  const variantOf = (series: StatsSeries) => (series.series === null ? null : decodeSeries(series.series).variant);
  const workers = [...byWorker.keys()].sort().map((worker) => {
    const metrics: MetricStats[] = (byWorker.get(worker) ?? [])
      .map((series) => ({ series, metric: METRIC_KEYS[series.metric], variant: variantOf(series) }))
      .sort((a, b) => metricOrder.indexOf(a.metric) - metricOrder.indexOf(b.metric) || compareVariants(a.variant, b.variant))
      .map(({ series, metric, variant }) => {
        const entry: MetricStats = {
          metric,
          dates: series.dates,
          stats: (aggregations.get(metric) ?? []).map((aggregation) => ({
            aggregation,
            dates: series.dates,
            values: series[aggregation],
          })),
        };
        if (variant !== null) {
          entry.variant = variant;
        }
        return entry;
      });

    return { worker, metrics };
  });

  return { workers };
}

/**
 * Counts the workers that reported in each bucket (total) and those running a task
 * (active). Every bucket from floor(from / interval) to floor(to / interval) appears,
 * with 0 where no worker reported, except a last bucket less than 90% complete at to_date.
 */
export async function getActivityReport(
  context: CallContext,
  request: GetActivityReportRequest,
  source: StatsSource = 'auto',
): Promise<GetActivityReportResponse> {
  const interval = Math.max(request.interval, MIN_ACTIVITY_INTERVAL_SECONDS);
  checkRange(request.from_date, request.to_date, interval, request.interval);

  const rows = await selectActivityBuckets(context.db, {
    companyId: context.companyId,
    interval,
    segments: segmentsFor(request.from_date, request.to_date, interval, source),
  });
  const byBucket = new Map(rows.map((row) => [row.bucket, row]));

  const first = Math.floor(request.from_date / interval) * interval;
  let last = Math.floor(request.to_date / interval) * interval;
  if (last > request.to_date - LAST_BUCKET_MIN_COVERAGE * interval) {
    last -= interval;
  }

  const dates: number[] = [];
  const total: number[] = [];
  const active: number[] = [];
  for (let bucket = first; bucket <= last; bucket += interval) {
    dates.push(bucket);
    total.push(byBucket.get(bucket)?.total ?? 0);
    active.push(byBucket.get(bucket)?.active ?? 0);
  }

  return { total: { dates, counts: total }, active: { dates, counts: active } };
}
