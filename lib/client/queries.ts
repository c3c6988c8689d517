'use client';

import { keepPreviousData, useQuery } from '@tanstack/react-query';

import { METRIC_KEYS, type MetricKey, type WorkerEntry } from '@/lib/schemas/workers';

import {
  getActivityReport,
  getAllQueues,
  getAllTasks,
  getAllWorkers,
  getStats,
} from './api';
import { buildQueueRows, nextTaskIds } from './queue-rows';
import {
  chooseBucketInterval,
  MAX_ACTIVITY_POINTS,
  MAX_CHART_POINTS,
  MIN_ACTIVITY_INTERVAL,
  TIME_RANGES,
  timeWindowEndingAt,
  type TimeRangeKey,
} from './time-range';

/** Refresh period of the workers table, in milliseconds. */
export const WORKERS_REFRESH_MS = 5_000;

/** Refresh period of the metric key list, which grows when a worker reports a new metric. */
const METRIC_KEYS_REFRESH_MS = 10_000;

/** Returns the chart refresh period: one bucket, but at least 10 s and at most 60 s. */
function chartRefreshMs(intervalSeconds: number): number {
  return Math.min(60_000, Math.max(10_000, intervalSeconds * 1000));
}

/**
 * Fetches the live workers, optionally filtered by a glob on the worker id. `last_seen: 0`
 * turns off the server's one-hour activity filter, so every worker that has not expired is listed.
 */
export function useLiveWorkers(workerPattern: string) {
  return useQuery({
    queryKey: ['workers.get_all', { workerPattern }],
    queryFn: ({ signal }) =>
      getAllWorkers({ last_seen: 0, worker_pattern: workerPattern === '' ? undefined : workerPattern }, signal),
    refetchInterval: WORKERS_REFRESH_MS,
    // Keeps the previous rows on screen while a new filter loads, instead of a loading state per keystroke.
    placeholderData: keepPreviousData,
  });
}

/**
 * Fetches what the queues page shows: every queue with its length, the name of its next
 * task and the live workers listening on it, refreshed like the workers table.
 */
export function useQueuesOverview() {
  return useQuery({
    queryKey: ['queues.get_all', 'overview'],
    queryFn: async ({ signal }) => {
      const [queues, workers] = await Promise.all([getAllQueues({}, signal), getAllWorkers({ last_seen: 0 }, signal)]);
      const taskIds = nextTaskIds(queues);
      // An empty id list would list every task, so no call is made without next tasks.
      const nextTasks = taskIds.length > 0 ? await getAllTasks({ id: taskIds, only_fields: ['name'] }, signal) : { tasks: [] };

      return buildQueueRows(queues, nextTasks, workers);
    },
    refetchInterval: WORKERS_REFRESH_MS,
  });
}

/**
 * Fetches the live entries of one worker id: one per user running a daemon with that id,
 * none when the worker is not live. The glob cannot escape `*` or `?`, so the server's
 * matches are narrowed to the exact id here.
 */
export function useWorkerEntries(workerId: string) {
  return useQuery({
    queryKey: ['workers.get_all', { workerId }],
    queryFn: ({ signal }) => getAllWorkers({ last_seen: 0, worker_pattern: workerId }, signal),
    select: (data): WorkerEntry[] => data.workers.filter((worker) => worker.id === workerId),
    refetchInterval: WORKERS_REFRESH_MS,
  });
}

/** How far back the worker page looks for reported metrics: the longest range, 7 days, plus a day. */
const METRIC_DISCOVERY_SECONDS = 8 * 24 * 60 * 60;

/**
 * Fetches the sorted metric keys one worker has reported in the last eight days.
 *
 * It requests get_stats for every known key in one bucket spanning the whole window instead
 * of calling get_metric_keys, because get_metric_keys returns 400/1005 for a worker
 * without stats and the browser logs every 400 as a console error.
 */
export function useWorkerMetricKeys(workerId: string) {
  return useQuery({
    queryKey: ['workers.get_stats', 'metric-keys', { workerId }],
    queryFn: async ({ signal }): Promise<string[]> => {
      const toDate = Math.ceil(Date.now() / 1000);
      const response = await getStats(
        {
          worker_ids: [workerId],
          from_date: toDate - METRIC_DISCOVERY_SECONDS,
          to_date: toDate,
          interval: METRIC_DISCOVERY_SECONDS,
          items: METRIC_KEYS.map((key) => ({ key, aggregation: 'max' as const })),
        },
        signal,
      );
      const worker = response.workers.find((entry) => entry.worker === workerId);

      return [...new Set(worker?.metrics.map((metric) => metric.metric) ?? [])].sort();
    },
    refetchInterval: METRIC_KEYS_REFRESH_MS,
  });
}

export interface WorkerStatsParams {
  workerId: string;
  range: TimeRangeKey;
  metrics: readonly MetricKey[];
  splitByVariant: boolean;
}

/** Fetches the average of each metric for one worker over the range ending now, per bucket. */
export function useWorkerStats({ workerId, range, metrics, splitByVariant }: WorkerStatsParams) {
  const rangeSeconds = TIME_RANGES[range].seconds;
  const interval = chooseBucketInterval(rangeSeconds, MAX_CHART_POINTS);
  const sortedMetrics = [...metrics].sort();

  return useQuery({
    queryKey: ['workers.get_stats', { workerId, range, metrics: sortedMetrics, splitByVariant }],
    queryFn: async ({ signal }) => {
      const { fromDate, toDate } = timeWindowEndingAt(Date.now(), rangeSeconds, interval);
      const response = await getStats(
        {
          worker_ids: [workerId],
          from_date: fromDate,
          to_date: toDate,
          interval,
          items: sortedMetrics.map((key) => ({ key, aggregation: 'avg' as const })),
          split_by_variant: splitByVariant,
        },
        signal,
      );
      const worker = response.workers.find((entry) => entry.worker === workerId);

      return { metrics: worker?.metrics ?? [], interval, fromDate, toDate };
    },
    enabled: sortedMetrics.length > 0,
    refetchInterval: chartRefreshMs(interval),
    // Keeps the charts while another range or split loads, but never shows another worker's data.
    placeholderData: (previous, previousQuery) =>
      (previousQuery?.queryKey[1] as { workerId?: string } | undefined)?.workerId === workerId ? previous : undefined,
  });
}

/** Fetches the total and active worker counts over the range ending now. */
export function useActivityReport(range: TimeRangeKey) {
  const rangeSeconds = TIME_RANGES[range].seconds;
  const interval = chooseBucketInterval(rangeSeconds, MAX_ACTIVITY_POINTS, MIN_ACTIVITY_INTERVAL);

  return useQuery({
    queryKey: ['workers.get_activity_report', { range }],
    queryFn: async ({ signal }) => {
      const { fromDate, toDate } = timeWindowEndingAt(Date.now(), rangeSeconds, interval);
      const report = await getActivityReport({ from_date: fromDate, to_date: toDate, interval }, signal);

      return { report, interval, fromDate, toDate };
    },
    refetchInterval: chartRefreshMs(interval),
    placeholderData: keepPreviousData,
  });
}
