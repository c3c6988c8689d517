import { z } from '@/lib/schemas/zod';

/** Time ranges the pages offer, with their length in seconds. */
export const TIME_RANGES = {
  '1h': { label: '1 h', seconds: 3_600 },
  '6h': { label: '6 h', seconds: 6 * 3_600 },
  '24h': { label: '24 h', seconds: 24 * 3_600 },
  '7d': { label: '7 d', seconds: 7 * 24 * 3_600 },
} as const;

export type TimeRangeKey = keyof typeof TIME_RANGES;

export const DEFAULT_TIME_RANGE: TimeRangeKey = '1h';

/** The `range` URL parameter; a missing or unknown value falls back to the default range. */
export const timeRangeParamSchema = z
  .enum(Object.keys(TIME_RANGES) as [TimeRangeKey, ...TimeRangeKey[]])
  .catch(DEFAULT_TIME_RANGE);

/** A boolean URL flag: `1` or `true` turns it on, anything else (or absence) leaves it off. */
export const flagParamSchema = z
  .string()
  .nullish()
  .transform((value) => value === '1' || value === 'true');

/** Bucket sizes in seconds that give readable time axes, ascending. */
const BUCKET_INTERVALS = [
  1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200, 86_400,
];

/**
 * Picks the smallest standard bucket interval (seconds) that keeps a series of
 * `rangeSeconds` at or below `maxPoints` buckets, and not below `minInterval`.
 */
export function chooseBucketInterval(rangeSeconds: number, maxPoints: number, minInterval = 1): number {
  const smallestAllowed = Math.max(minInterval, rangeSeconds / maxPoints);
  const interval = BUCKET_INTERVALS.find((candidate) => candidate >= smallestAllowed);

  return interval ?? Math.ceil(smallestAllowed);
}

/**
 * At most 300 buckets per worker chart: 1 h gives 15 s buckets (240 points), 6 h 120 s
 * (180), 24 h 300 s (288) and 7 d 3600 s (168).
 */
export const MAX_CHART_POINTS = 300;

/**
 * Activity buckets are at least 60 s wide, so a worker reporting once a minute counts in
 * every bucket. The server raises anything below 40 s to 40 s anyway.
 */
export const MIN_ACTIVITY_INTERVAL = 60;

/** At most 120 buckets in the activity chart: 1 h gives 60 s, 7 d gives 7200 s. */
export const MAX_ACTIVITY_POINTS = 120;

/**
 * Computes the window of `rangeSeconds` ending at `nowMs`, in whole seconds since the
 * epoch. The start moves back to a bucket boundary of `interval` seconds so the first
 * bucket is complete, because the server counts only samples at or after from_date.
 */
export function timeWindowEndingAt(
  nowMs: number,
  rangeSeconds: number,
  interval: number,
): { fromDate: number; toDate: number } {
  const toDate = Math.floor(nowMs / 1000);
  const fromDate = Math.floor((toDate - rangeSeconds) / interval) * interval;

  return { fromDate, toDate };
}
