import { describe, expect, test } from 'vitest';

import { listPartitions } from '@/db/partitions';

import { TEST_TARGETS } from '../helpers/database';

import { expectOk, registerWorker, reportStatus, T, useApiServer } from './fixtures';

const DAY = 86_400;

/** Devices in one machine_stats array: far more cores or GPUs than any machine has. */
const DEVICE_COUNT = 100_000;

describe.each(TEST_TARGETS)('stats edge cases on %s', (target) => {
  const api = useApiServer(target);

  // Each array element becomes a variant, and get_stats with split_by_variant returns one
  // metric entry per variant. Without a bound, one 1 MiB report carries 500,000 zeros, and
  // its split get_stats response is 64 MB, takes about 10 s and crashes the worker page's tab.
  test('machine_stats array of 100000 devices is 400/12', async () => {
    await registerWorker(api, 'w');

    const result = await api.call('workers.status_report', {
      worker: 'w',
      timestamp: T,
      machine_stats: { gpu_usage: new Array<number>(DEVICE_COUNT).fill(0) },
    });

    expect(result.status).toBe(400);
    expect(result.meta.result_subcode).toBe(12);
    expect(result.meta.error_data.field).toBe('machine_stats.gpu_usage');

    const keys = await api.call('workers.get_metric_keys', {});
    expect(keys.meta.result_subcode).toBe(1005);
  });

  // Report timestamps keep milliseconds, and from_date <= t must hold at any precision.
  // Cutting from_date to whole milliseconds pulls in a sample up to 1 ms earlier.
  test('sample before a fractional-millisecond from_date is left out', async () => {
    await registerWorker(api, 'w');
    api.clock.set(new Date((T + 59.999) * 1000));
    await reportStatus(api, 'w', { timestamp: (T + 59.999) * 1000, machine_stats: { cpu_usage: 7 } });

    const result = await api.call('workers.get_stats', {
      worker_ids: ['w'],
      from_date: T + 59.9995,
      to_date: T + 120,
      interval: 60,
      items: [{ key: 'cpu_usage', aggregation: 'max' }],
    });

    expectOk(result);
    expect(result.data).toEqual({ workers: [] });
  });

  // Day partitions are created before the report's transaction, so a report rejected
  // with 1001 (no such worker) still leaves a table behind. Any caller can then add one
  // table per distinct past day, each a catalog entry with two indexes.
  test('rejected reports create no partitions', async () => {
    const before = (await listPartitions(api.db, 'reports')).map((partition) => partition.name);

    for (let day = 1; day <= 5; day++) {
      const result = await api.call('workers.status_report', { worker: 'never-registered', timestamp: T - 100 * DAY - day * DAY });
      expect(result.status).toBe(400);
      expect(result.meta.result_subcode).toBe(1001);
    }

    const after = (await listPartitions(api.db, 'reports')).map((partition) => partition.name);
    expect(after).toEqual(before);
  });
});
