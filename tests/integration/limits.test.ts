import { describe, expect, test } from 'vitest';

import { sendApiRequest } from '../helpers/api';
import { TEST_TARGETS } from '../helpers/database';

import { bodyOf, errorEnvelope, expectOk, registerWorker, reportStatus, storedRows, T, useApiServer, type ApiFixture } from './fixtures';

/** Builds `count` distinct strings of `length` characters each. */
function strings(count: number, length = 1): string[] {
  return Array.from({ length: count }, (_, index) => String(index).padStart(length, 'x'));
}

/** Renders a value as an error message shows it: JSON, cut after 200 characters. */
function shown(value: unknown): string {
  const text = JSON.stringify(value);

  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}

/** Returns a value as error_data carries it: a string whole, a list itself or, when long, its cut text. */
function carried(value: unknown): unknown {
  if (typeof value === 'string') {
    return value;
  }
  const text = shown(value);

  return text.endsWith('...') ? text : value;
}

/** Metric keys that get_stats' items cycle through. */
const KEYS = ['cpu_usage', 'memory_used', 'gpu_usage', 'network_rx', 'disk_read'];

function statItems(count: number): { key: string; aggregation: string }[] {
  const aggregations = ['avg', 'min', 'max'];

  return Array.from({ length: count }, (_, index) => ({ key: KEYS[index % KEYS.length], aggregation: aggregations[index % 3] }));
}

const STATS_RANGE = { from_date: T, to_date: T + 60, interval: 60 };

interface LimitCase {
  label: string;
  endpoint: string;
  /** The request with the limit reached: accepted. */
  atLimit: Record<string, unknown>;
  /**
   * The subcode of the 400 the request at the limit gets past validation, because the
   * ids it names do not exist: 701 for queues, 101 for a task. Unset: it returns 200.
   */
  unknownIdSubcode?: number;
  /** The same request one past the limit: 400/12. */
  overLimit: Record<string, unknown>;
  field: string;
  value: unknown;
  reason: string;
}

const WORKER = 'w';
const REPORT = { worker: WORKER, timestamp: T };

const CASES: LimitCase[] = [
  {
    label: 'worker id of 255 characters',
    endpoint: 'workers.register',
    atLimit: { worker: 'x'.repeat(255) },
    overLimit: { worker: 'x'.repeat(256) },
    field: 'worker',
    value: 'x'.repeat(256),
    reason: 'must be at most 255 characters',
  },
  ...(['tags', 'system_tags'] as const).flatMap((field): LimitCase[] => [
    {
      label: `register with 100 ${field}`,
      endpoint: 'workers.register',
      atLimit: { worker: WORKER, [field]: strings(100) },
      overLimit: { worker: WORKER, [field]: strings(101) },
      field,
      value: strings(101),
      reason: 'must contain at most 100 tags',
    },
    {
      label: `register with a ${field} entry of 128 characters`,
      endpoint: 'workers.register',
      atLimit: { worker: WORKER, [field]: ['a', 'x'.repeat(128)] },
      overLimit: { worker: WORKER, [field]: ['a', 'x'.repeat(129)] },
      field: `${field}.1`,
      value: 'x'.repeat(129),
      reason: 'must be at most 128 characters',
    },
    {
      label: `status_report with 100 ${field}`,
      endpoint: 'workers.status_report',
      atLimit: { ...REPORT, [field]: strings(100) },
      overLimit: { ...REPORT, [field]: strings(101) },
      field,
      value: strings(101),
      reason: 'must contain at most 100 tags',
    },
    {
      label: `status_report with a ${field} entry of 128 characters`,
      endpoint: 'workers.status_report',
      atLimit: { ...REPORT, [field]: ['😀'.repeat(128)] },
      overLimit: { ...REPORT, [field]: ['😀'.repeat(129)] },
      field: `${field}.0`,
      value: '😀'.repeat(129),
      reason: 'must be at most 128 characters',
    },
    {
      label: `get_all with 100 ${field}`,
      endpoint: 'workers.get_all',
      atLimit: { [field]: strings(100) },
      overLimit: { [field]: strings(101) },
      field,
      value: strings(101),
      reason: 'must contain at most 100 tags',
    },
    {
      label: `get_count with an excluded ${field} entry of 128 characters`,
      endpoint: 'workers.get_count',
      atLimit: { [field]: [`-${'x'.repeat(128)}`] },
      overLimit: { [field]: [`-${'x'.repeat(129)}`] },
      field: `${field}.0`,
      value: `-${'x'.repeat(129)}`,
      reason: "must be at most 128 characters after an optional '-' prefix",
    },
  ]),
  {
    label: 'register with 100 queues',
    unknownIdSubcode: 701,
    endpoint: 'workers.register',
    atLimit: { worker: WORKER, queues: strings(100) },
    overLimit: { worker: WORKER, queues: strings(101) },
    field: 'queues',
    value: strings(101),
    reason: 'must contain at most 100 queues',
  },
  {
    label: 'status_report with a queues entry of 128 characters',
    unknownIdSubcode: 701,
    endpoint: 'workers.status_report',
    atLimit: { ...REPORT, queues: ['x'.repeat(128)] },
    overLimit: { ...REPORT, queues: ['x'.repeat(129)] },
    field: 'queues.0',
    value: 'x'.repeat(129),
    reason: 'must be at most 128 characters',
  },
  {
    label: 'status_report with a queue of 128 characters',
    unknownIdSubcode: 701,
    endpoint: 'workers.status_report',
    atLimit: { ...REPORT, queue: 'q'.repeat(128) },
    overLimit: { ...REPORT, queue: 'q'.repeat(129) },
    field: 'queue',
    value: 'q'.repeat(129),
    reason: 'must be at most 128 characters',
  },
  {
    label: 'status_report with a task id of 255 characters',
    unknownIdSubcode: 101,
    endpoint: 'workers.status_report',
    atLimit: { ...REPORT, task: 't'.repeat(255) },
    overLimit: { ...REPORT, task: 't'.repeat(256) },
    field: 'task',
    value: 't'.repeat(256),
    reason: 'must be at most 255 characters',
  },
  {
    label: 'status_report with 1024 values in a machine_stats array',
    endpoint: 'workers.status_report',
    atLimit: { ...REPORT, machine_stats: { gpu_usage: new Array(1024).fill(1) } },
    overLimit: { ...REPORT, machine_stats: { gpu_usage: new Array(1025).fill(1) } },
    field: 'machine_stats.gpu_usage',
    value: new Array(1025).fill(1),
    reason: 'must have at most 1024 values',
  },
  {
    label: 'get_all with a worker_pattern of 255 characters',
    endpoint: 'workers.get_all',
    atLimit: { worker_pattern: '*'.repeat(255) },
    overLimit: { worker_pattern: '*'.repeat(256) },
    field: 'worker_pattern',
    value: '*'.repeat(256),
    reason: 'must be at most 255 characters',
  },
  {
    label: 'get_count with a worker_pattern of 255 characters',
    endpoint: 'workers.get_count',
    atLimit: { worker_pattern: '?'.repeat(255) },
    overLimit: { worker_pattern: '?'.repeat(256) },
    field: 'worker_pattern',
    value: '?'.repeat(256),
    reason: 'must be at most 255 characters',
  },
  {
    label: 'get_metric_keys with 1000 worker_ids',
    endpoint: 'workers.get_metric_keys',
    atLimit: { worker_ids: [WORKER, ...strings(999, 3)] },
    overLimit: { worker_ids: [WORKER, ...strings(1000, 3)] },
    field: 'worker_ids',
    value: [WORKER, ...strings(1000, 3)],
    reason: 'must contain at most 1000 worker ids',
  },
  {
    label: 'get_metric_keys with a worker id of 255 characters',
    endpoint: 'workers.get_metric_keys',
    atLimit: { worker_ids: [WORKER, 'x'.repeat(255)] },
    overLimit: { worker_ids: [WORKER, 'x'.repeat(256)] },
    field: 'worker_ids.1',
    value: 'x'.repeat(256),
    reason: 'must be at most 255 characters',
  },
  {
    label: 'get_stats with 1000 worker_ids',
    endpoint: 'workers.get_stats',
    atLimit: { ...STATS_RANGE, items: statItems(1), worker_ids: strings(1000, 3) },
    overLimit: { ...STATS_RANGE, items: statItems(1), worker_ids: strings(1001, 3) },
    field: 'worker_ids',
    value: strings(1001, 3),
    reason: 'must contain at most 1000 worker ids',
  },
  {
    label: 'get_stats with 50 items',
    endpoint: 'workers.get_stats',
    atLimit: { ...STATS_RANGE, items: statItems(50) },
    overLimit: { ...STATS_RANGE, items: statItems(51) },
    field: 'items',
    value: statItems(51),
    reason: 'must contain at most 50 items',
  },
];

// The bucket limit names the interval and carries the range in error_data.
const BUCKET_CASES = [
  {
    label: 'get_stats over 100000 buckets of 1 s',
    endpoint: 'workers.get_stats',
    atLimit: { from_date: T, to_date: T + 99_999, interval: 1, items: statItems(1) },
    overLimit: { from_date: T, to_date: T + 100_000, interval: 1, items: statItems(1) },
    interval: 1,
    reason: `from_date ${T} to to_date ${T + 100_000} in buckets of 1 s spans 100001 buckets, more than the maximum of 100000 (use a larger interval or a shorter range)`,
    data: { field: 'interval', value: 1, from_date: T, to_date: T + 100_000, buckets: 100_001 },
  },
  {
    // Activity intervals below 40 s are raised to 40 before the buckets are counted.
    label: 'get_activity_report over 100000 buckets of 40 s',
    endpoint: 'workers.get_activity_report',
    atLimit: { from_date: T, to_date: T + 99_999 * 40, interval: 10 },
    overLimit: { from_date: T, to_date: T + 100_000 * 40, interval: 10 },
    interval: 10,
    reason: `from_date ${T} to to_date ${T + 4_000_000} in buckets of 40 s spans 100001 buckets, more than the maximum of 100000 (use a larger interval or a shorter range)`,
    data: { field: 'interval', value: 10, from_date: T, to_date: T + 4_000_000, buckets: 100_001 },
  },
];

/** Registers the worker the cases report for and gives it one stored sample and tag. */
async function seedWorker(api: ApiFixture): Promise<void> {
  await registerWorker(api, WORKER, { tags: ['before'] });
  await reportStatus(api, WORKER, { timestamp: T - 60, machine_stats: { cpu_usage: 5 } });
}

describe.each(TEST_TARGETS)('input limits on %s', (target) => {
  const api = useApiServer(target);

  test.each(CASES.map((limit) => [limit.label, limit] as const))('%s is accepted', async (_label, limit) => {
    await seedWorker(api);

    const result = await api.call(limit.endpoint, limit.atLimit);

    if (limit.unknownIdSubcode === undefined) {
      expectOk(result);
    } else {
      expect([result.status, result.meta.result_subcode]).toEqual([400, limit.unknownIdSubcode]);
    }
  });

  test.each(CASES.map((limit) => [limit.label, limit] as const))('%s plus one is 400/12 storing nothing', async (_label, limit) => {
    await seedWorker(api);
    const before = await storedRows(api);

    const result = await api.call(limit.endpoint, limit.overLimit);

    expect(bodyOf(result)).toEqual(
      errorEnvelope(
        limit.endpoint,
        400,
        12,
        `Validation error: invalid value ${shown(limit.value)} for field '${limit.field}': ${limit.reason}`,
        { field: limit.field, value: carried(limit.value) },
      ),
    );
    expect(await storedRows(api)).toEqual(before);
  });

  test.each(BUCKET_CASES.map((limit) => [limit.label, limit] as const))('%s is accepted', async (_label, limit) => {
    expectOk(await api.call(limit.endpoint, limit.atLimit));
  });

  test.each(BUCKET_CASES.map((limit) => [limit.label, limit] as const))('%s plus one is 400/12', async (_label, limit) => {
    const result = await api.call(limit.endpoint, limit.overLimit);

    expect(bodyOf(result)).toEqual(
      errorEnvelope(limit.endpoint, 400, 12, `Validation error: invalid value ${limit.interval} for field 'interval': ${limit.reason}`, limit.data),
    );
  });

  describe('finite numbers', () => {
    // JSON has no NaN or Infinity, but 1e400 parses to Infinity.
    test.each([
      ['timestamp', '{"worker": "w", "timestamp": 1e400}', 'timestamp', 'Infinity', 'Invalid input: expected number, received Infinity'],
      [
        'scalar sample',
        `{"worker": "w", "timestamp": ${T}, "machine_stats": {"cpu_usage": -1e400}}`,
        'machine_stats.cpu_usage',
        '-Infinity',
        'must be a finite number or a list of at most 1024 finite numbers',
      ],
      [
        'sample in an array',
        `{"worker": "w", "timestamp": ${T}, "machine_stats": {"cpu_usage": [1, 1e400]}}`,
        'machine_stats.cpu_usage.1',
        'Infinity',
        'Invalid input: expected number, received Infinity',
      ],
    ])('%s of 1e400 is 400/12 storing nothing', async (_label, body, field, value, reason) => {
      await seedWorker(api);
      const before = await storedRows(api);

      const result = await sendApiRequest(api.url, { path: '/api/workers.status_report', body });

      expect(bodyOf(result)).toEqual(
        errorEnvelope('workers.status_report', 400, 12, `Validation error: invalid value "${value}" for field '${field}': ${reason}`, {
          field,
          value,
        }),
      );
      expect(await storedRows(api)).toEqual(before);
    });
  });
});
