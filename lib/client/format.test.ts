import { describe, expect, it } from 'vitest';

import { buildTimeTicks, formatDuration, formatMetricValue, formatRunningTime, formatTimeAgo } from './format';
import { seriesLabel } from './metric-charts';

describe('formatTimeAgo', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');

  it.each([
    ['2026-01-01T11:59:48Z', '12 s ago'],
    ['2026-01-01T11:59:00.500Z', '59 s ago'],
    ['2026-01-01T11:55:00Z', '5 min ago'],
    ['2026-01-01T09:00:00Z', '3 h ago'],
    ['2025-12-30T12:00:00Z', '2 d ago'],
    ['2026-01-01T12:00:05Z', '0 s ago'],
    ['not a time', 'unknown'],
  ])('formats %s as %s', (time, expected) => {
    expect(formatTimeAgo(time, now)).toBe(expected);
  });
});

describe('formatDuration', () => {
  it.each([
    [45, '45 s'],
    [720, '12 min'],
    [3_600, '1 h'],
    [12_000, '3 h 20 min'],
    [187_200, '2 d 4 h'],
    [172_800, '2 d'],
  ])('formats %i s as %s', (seconds, expected) => {
    expect(formatDuration(seconds)).toBe(expected);
  });
});

describe('formatRunningTime', () => {
  it.each([
    [30_146_500, '8h 22m 26s'],
    [3_600_000, '1h 0m 0s'],
    [108_000_000, '30h 0m 0s'],
    [1_346_999, '22m 26s'],
    [26_000, '26s'],
    [999, '0s'],
    [-5, '0s'],
  ])('formats %i ms as %s', (milliseconds, expected) => {
    expect(formatRunningTime(milliseconds)).toBe(expected);
  });
});

describe('formatMetricValue', () => {
  it.each([
    [42.345, '%', '42.3%'],
    [3.14159, 'MB/s', '3.14 MB/s'],
    [16_384.4, 'MB', '16384 MB'],
    [71, '°C', '71.0°C'],
  ])('formats %d %s as %s', (value, unit, expected) => {
    expect(formatMetricValue(value, unit)).toBe(expected);
  });
});

describe('buildTimeTicks', () => {
  it('puts one hour ticks on round local times', () => {
    const from = Date.parse('2026-01-01T10:07:00Z');
    const to = Date.parse('2026-01-01T16:07:00Z');
    const offset = new Date(from).getTimezoneOffset() * 60_000;
    const ticks = buildTimeTicks(from, to);

    expect(ticks).toHaveLength(6);
    expect(ticks.every((tick) => (tick - offset) % 3_600_000 === 0)).toBe(true);
    expect(ticks[0]).toBeGreaterThanOrEqual(from);
    expect(ticks.at(-1)).toBeLessThanOrEqual(to);
  });

  it('spaces ten minute ticks over one hour', () => {
    const from = Date.parse('2026-01-01T10:00:00Z');
    const ticks = buildTimeTicks(from, from + 3_600_000);

    expect(ticks.map((tick) => (tick - from) / 60_000)).toEqual([0, 10, 20, 30, 40, 50, 60]);
  });
});

describe('seriesLabel', () => {
  it.each([
    ['cpu_usage', undefined, 'CPU usage'],
    ['cpu_usage', 'total', 'CPU usage'],
    ['cpu_usage', '3', 'core 3'],
    ['cpu_temperature', '1', 'sensor 1'],
    ['gpu_usage', '0', 'GPU 0'],
    ['gpu_memory_used', '1', 'GPU 1 used'],
    ['memory_used', undefined, 'used'],
    ['disk_free_home', undefined, 'home directory'],
  ])('names %s variant %s as %s', (metric, variant, expected) => {
    expect(seriesLabel(metric, variant)).toBe(expected);
  });
});
