import { describe, expect, it } from 'vitest';

import {
  chooseBucketInterval,
  flagParamSchema,
  MAX_ACTIVITY_POINTS,
  MAX_CHART_POINTS,
  MIN_ACTIVITY_INTERVAL,
  TIME_RANGES,
  timeRangeParamSchema,
  timeWindowEndingAt,
} from './time-range';

describe('chooseBucketInterval', () => {
  it.each([
    ['1h', 15, 240],
    ['6h', 120, 180],
    ['24h', 300, 288],
    ['7d', 3_600, 168],
  ] as const)('worker chart over %s uses %i s buckets (%i points)', (range, interval, points) => {
    const seconds = TIME_RANGES[range].seconds;

    expect(chooseBucketInterval(seconds, MAX_CHART_POINTS)).toBe(interval);
    expect(seconds / interval).toBe(points);
  });

  it.each([
    ['1h', 60],
    ['6h', 300],
    ['24h', 900],
    ['7d', 7_200],
  ] as const)('activity chart over %s uses %i s buckets', (range, interval) => {
    expect(chooseBucketInterval(TIME_RANGES[range].seconds, MAX_ACTIVITY_POINTS, MIN_ACTIVITY_INTERVAL)).toBe(
      interval,
    );
  });

  it('rounds up past the largest standard interval', () => {
    expect(chooseBucketInterval(365 * 86_400, 100)).toBe(315_360);
  });
});

describe('timeWindowEndingAt', () => {
  it('aligns the start to a bucket boundary', () => {
    expect(timeWindowEndingAt(1_700_000_123_456, 3_600, 60)).toEqual({ fromDate: 1_699_996_500, toDate: 1_700_000_123 });
  });

  it('keeps an aligned start', () => {
    expect(timeWindowEndingAt(1_700_003_610_000, 3_600, 15)).toEqual({ fromDate: 1_700_000_010, toDate: 1_700_003_610 });
  });
});

describe('URL parameter schemas', () => {
  it('accepts a known range', () => {
    expect(timeRangeParamSchema.parse('24h')).toBe('24h');
  });

  it.each([undefined, '', '2h', '1H'])('falls back to 1h for %j', (value) => {
    expect(timeRangeParamSchema.parse(value)).toBe('1h');
  });

  it.each([
    ['1', true],
    ['true', true],
    ['0', false],
    ['yes', false],
    [null, false],
    [undefined, false],
  ] as const)('reads flag %j as %s', (value, expected) => {
    expect(flagParamSchema.parse(value)).toBe(expected);
  });
});
