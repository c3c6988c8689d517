import { describe, expect, test } from 'vitest';

import { ApiError } from '@/lib/api/errors';
import { parseVersion, resolveVersion } from '@/lib/api/versions';
import { decodeSeries, encodeSamples, layoutId, SERIES_STRIDE } from '@/lib/stats/layout';
import { metricCategory, reportTime } from '@/lib/stats/samples';
import { globToLike } from '@/lib/workers/glob';

/** Runs `action` and returns what it threw, or undefined when it returned. */
function thrownBy(action: () => unknown): unknown {
  try {
    action();
  } catch (caught) {
    return caught;
  }

  return undefined;
}

// The HTTP suites cover these helpers end to end. These tests pin the edge cases
// that are slow to reach through a server.

describe('globToLike', () => {
  test.each([
    ['*', '%'],
    ['?', '_'],
    ['gpu-*', 'gpu-%'],
    ['gpu-0?', 'gpu-0_'],
    ['100%', '100\\%'],
    ['gpu_01', 'gpu\\_01'],
    ['back\\slash', 'back\\\\slash'],
    ['gpu.01', 'gpu.01'],
    ['gpu[01]', 'gpu[01]'],
    ["it's", "it's"],
    ['**', '%%'],
    ['', ''],
    ['北京*', '北京%'],
  ])('glob %j becomes LIKE %j', (glob, like) => {
    expect(globToLike(glob)).toBe(like);
  });
});

describe('reportTime', () => {
  const now = new Date('2026-01-01T00:00:00.000Z');
  const nowSeconds = now.getTime() / 1000;

  test.each([
    ['seconds', nowSeconds, '2026-01-01T00:00:00.000Z'],
    ['fractional seconds', nowSeconds + 0.25, '2026-01-01T00:00:00.250Z'],
    ['milliseconds', now.getTime() + 1500, '2026-01-01T00:00:01.500Z'],
    ['1e11, the first milliseconds value', 1e11, '1973-03-03T09:46:40.000Z'],
    ['zero', 0, '1970-01-01T00:00:00.000Z'],
    ['exactly one day ahead', nowSeconds + 86_400, '2026-01-02T00:00:00.000Z'],
  ])('%s', (_label, timestamp, iso) => {
    expect(reportTime(timestamp, now).toISOString()).toBe(iso);
  });

  test.each([
    ['negative', -1],
    ['1e11 - 1, seconds in the year 5138', 1e11 - 1],
    ['one day and one second ahead', nowSeconds + 86_401],
    ['one day and one millisecond ahead in milliseconds', now.getTime() + 86_400_001],
  ])('%s is rejected with 400/12', (_label, timestamp) => {
    const error = thrownBy(() => reportTime(timestamp, now));

    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ code: 400, subcode: 12, data: { field: 'timestamp', value: timestamp } });
  });
});

describe('encodeSamples', () => {
  test('scalars, arrays, zeros and empty arrays', () => {
    const encoded = encodeSamples({ cpu_usage: 0, gpu_usage: [0, 5], gpu_memory_free: [], memory_used: undefined });

    // cpu_usage is metric 0 and gpu_usage metric 4 in METRIC_KEYS.
    expect(encoded.series).toEqual([0, 4 * SERIES_STRIDE + 1, 4 * SERIES_STRIDE + 2]);
    expect(encoded.values).toEqual([0, 0, 5]);
    expect(encoded.metrics).toEqual([0, 4]);
    expect(encoded.layoutId).toBe(layoutId(encoded.series));
  });

  test('absent machine_stats gives the empty layout', () => {
    expect(encodeSamples(undefined)).toEqual({ layoutId: 0, series: [], metrics: [], values: [] });
    expect(encodeSamples({})).toEqual({ layoutId: 0, series: [], metrics: [], values: [] });
  });

  test('value below float4 range is flushed to 0', () => {
    expect(encodeSamples({ network_tx: 1e-50 }).values).toEqual([0]);
  });

  test('series codes decode to metric and variant', () => {
    expect(decodeSeries(0)).toEqual({ metric: 'cpu_usage', variant: 'total' });
    expect(decodeSeries(4 * SERIES_STRIDE + 3)).toEqual({ metric: 'gpu_usage', variant: '2' });
  });

  test('layout id is the same as in SQL', () => {
    // ('x' || left(md5('0,8193'), 12))::bit(48)::bigint, computed by PostgreSQL 15.
    expect(layoutId([0, 8193])).toBe(181755104925254);
  });
});

describe('metricCategory', () => {
  test.each([
    ['cpu_usage', 'cpu'],
    ['gpu_memory_free', 'gpu'],
    ['disk_free_home', 'disk'],
    ['network_tx', 'network'],
    ['uptime', 'uptime'],
  ])('%s is in category %s', (metric, category) => {
    expect(metricCategory(metric)).toBe(category);
  });
});

describe('versions', () => {
  const getAllVersions = ['2.4', '2.20', '2.22', '2.30'];

  test.each([
    ['2.4', '2.4'],
    ['2.21', '2.20'],
    ['2.29', '2.22'],
    ['999.0', '2.30'],
    ['2.3', null],
    ['1.99', null],
  ])('get_all at %s resolves to %s', (requested, resolved) => {
    expect(resolveVersion(parseVersion(requested), getAllVersions)).toBe(resolved);
  });

  test.each(['2', 'v2.30', '2.x', '2.30.1', '', ' 2.30', '2.30 '])('version %j is rejected with 400/2', (text) => {
    const error = thrownBy(() => parseVersion(text));

    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ code: 400, subcode: 2, data: { version: text } });
  });
});
