/**
 * Splits a query range into segments read from rollups and from raw reports.
 *
 * A rollup of width W can serve an interval I when W divides I: every W bucket then lies
 * inside one epoch-aligned I bucket. It serves only the W buckets that lie wholly inside
 * [from, to]; the edges go to the next finer rollup, and finally to raw reports. A rollup
 * segment covers [from, to) on bucket starts; the last segment of a plan is inclusive of
 * `to`, because samples at exactly `to` count.
 */

export type SegmentSource = 'raw' | 'minute' | 'five_minutes' | 'hour';

export interface Segment {
  source: SegmentSource;
  /** Seconds since the epoch. */
  from: number;
  to: number;
  /** Whether samples at exactly `to` belong to this segment. */
  toInclusive: boolean;
}

/** The rollup widths in seconds, coarsest first. */
export const ROLLUP_WIDTHS: ReadonlyArray<{ source: Exclude<SegmentSource, 'raw'>; seconds: number }> = [
  { source: 'hour', seconds: 3600 },
  { source: 'five_minutes', seconds: 300 },
  { source: 'minute', seconds: 60 },
];

export function planSegments(
  from: number,
  to: number,
  interval: number,
  widths: ReadonlyArray<{ source: Exclude<SegmentSource, 'raw'>; seconds: number }> = ROLLUP_WIDTHS,
  toInclusive = true,
): Segment[] {
  if (from > to || (from === to && !toInclusive)) {
    return [];
  }

  const [width, ...finer] = widths;
  if (!width) {
    return [{ source: 'raw', from, to, toInclusive }];
  }
  if (interval % width.seconds !== 0) {
    return planSegments(from, to, interval, finer, toInclusive);
  }

  const firstFull = Math.ceil(from / width.seconds) * width.seconds;
  const endOfFull = Math.floor(to / width.seconds) * width.seconds;
  if (endOfFull <= firstFull) {
    return planSegments(from, to, interval, finer, toInclusive);
  }

  return [
    ...planSegments(from, firstFull, interval, finer, false),
    { source: width.source, from: firstFull, to: endOfFull, toInclusive: false },
    ...planSegments(endOfFull, to, interval, finer, toInclusive),
  ];
}
