import { describe, expect, test } from 'vitest';

import { TEST_TARGETS } from '../helpers/database';

import { bodyOf, errorEnvelope, expectOk, isoAt, registerWorker, reportStatus, T, useApiServer, type ApiFixture } from './fixtures';

/** Sends one report per [seconds after START, machine_stats] pair, moving the clock to each. */
async function reportSeries(api: ApiFixture, worker: string, reports: [number, Record<string, unknown>][]): Promise<void> {
  for (const [offset, machineStats] of reports) {
    api.clock.set(isoAt(offset));
    await reportStatus(api, worker, { machine_stats: machineStats });
  }
}

/** Calls get_stats, checks the 200 and returns `data.workers`. */
async function statsOf(api: ApiFixture, body: Record<string, unknown>) {
  const result = await api.call('workers.get_stats', body);
  expectOk(result);

  return result.data.workers;
}

/** Builds one metric entry of get_stats, with the same dates in each aggregation's entry. */
function metricEntry(metric: string, dates: number[], values: Record<string, number[]>, variant?: string) {
  const entry: Record<string, unknown> = {
    metric,
    dates,
    stats: Object.entries(values).map(([aggregation, series]) => ({ aggregation, dates, values: series })),
  };
  if (variant !== undefined) {
    entry.variant = variant;
  }

  return entry;
}

const ALL_AGGREGATIONS = [
  { key: 'cpu_usage', aggregation: 'avg' },
  { key: 'cpu_usage', aggregation: 'min' },
  { key: 'cpu_usage', aggregation: 'max' },
];

describe.each(TEST_TARGETS)('worker stats on %s', (target) => {
  const api = useApiServer(target);

  describe('samples from machine_stats', () => {
    test('scalars are variant total and arrays give one variant per index', async () => {
      await registerWorker(api, 'w');
      await reportStatus(api, 'w', {
        machine_stats: {
          cpu_usage: 50,
          gpu_usage: [10, 0, 30],
          memory_used: 0,
          network_rx: 0.5,
          gpu_memory_free: [],
          gpu_temperature: null,
        },
      });

      const keys = await api.call('workers.get_metric_keys', {});
      const workers = await statsOf(api, {
        from_date: T,
        to_date: T + 60,
        interval: 60,
        split_by_variant: true,
        items: ['cpu_usage', 'gpu_usage', 'memory_used', 'network_rx', 'gpu_memory_free', 'gpu_temperature'].map((key) => ({ key })),
      });

      expect(keys.data).toEqual({
        categories: [
          { name: 'cpu', metric_keys: ['cpu_usage'] },
          { name: 'gpu', metric_keys: ['gpu_usage'] },
          { name: 'memory', metric_keys: ['memory_used'] },
          { name: 'network', metric_keys: ['network_rx'] },
        ],
      });
      expect(workers).toEqual([
        {
          worker: 'w',
          metrics: [
            metricEntry('cpu_usage', [T], { avg: [50] }, 'total'),
            metricEntry('gpu_usage', [T], { avg: [10] }, '0'),
            metricEntry('gpu_usage', [T], { avg: [0] }, '1'),
            metricEntry('gpu_usage', [T], { avg: [30] }, '2'),
            metricEntry('memory_used', [T], { avg: [0] }, 'total'),
            metricEntry('network_rx', [T], { avg: [0.5] }, 'total'),
          ],
        },
      ]);
    });

    test('every metric key of the daemon is stored', async () => {
      const machineStats = {
        cpu_usage: 1,
        cpu_temperature: 2,
        memory_used: 3,
        memory_free: 4,
        gpu_usage: [5],
        gpu_temperature: [6],
        gpu_fraction: [0.5],
        gpu_memory_free: [7],
        gpu_memory_used: [8],
        network_tx: 9,
        network_rx: 10,
        disk_free_home: 11,
        disk_free_temp: 12,
        disk_read: 13,
        disk_write: 14,
      };
      await registerWorker(api, 'w');
      await reportStatus(api, 'w', { machine_stats: machineStats });

      const keys = await api.call('workers.get_metric_keys', { worker_ids: ['w'] });
      const workers = await statsOf(api, {
        from_date: T,
        to_date: T + 1,
        interval: 1,
        items: Object.keys(machineStats).map((key) => ({ key, aggregation: 'max' })),
      });

      expect(keys.data).toEqual({
        categories: [
          { name: 'cpu', metric_keys: ['cpu_temperature', 'cpu_usage'] },
          { name: 'disk', metric_keys: ['disk_free_home', 'disk_free_temp', 'disk_read', 'disk_write'] },
          { name: 'gpu', metric_keys: ['gpu_fraction', 'gpu_memory_free', 'gpu_memory_used', 'gpu_temperature', 'gpu_usage'] },
          { name: 'memory', metric_keys: ['memory_free', 'memory_used'] },
          { name: 'network', metric_keys: ['network_rx', 'network_tx'] },
        ],
      });
      const maxima = Object.fromEntries(
        workers[0].metrics.map((entry: { metric: string; stats: { values: number[] }[] }) => [entry.metric, entry.stats[0].values[0]]),
      );
      expect(maxima).toEqual(Object.fromEntries(Object.entries(machineStats).map(([key, value]) => [key, Array.isArray(value) ? value[0] : value])));
    });

    test('unknown machine_stats field is ignored', async () => {
      await registerWorker(api, 'w');

      await reportStatus(api, 'w', { machine_stats: { gpu_power_draw: [250], cpu_usage: 5 } });

      const keys = await api.call('workers.get_metric_keys', {});
      expect(keys.data).toEqual({ categories: [{ name: 'cpu', metric_keys: ['cpu_usage'] }] });
    });

    test.each([
      ['a string', { cpu_usage: '50' }, 'machine_stats.cpu_usage', '50'],
      ['a boolean', { cpu_usage: true }, 'machine_stats.cpu_usage', true],
      ['an object', { memory_used: { value: 1 } }, 'machine_stats.memory_used', { value: 1 }],
      ['a nested array', { gpu_usage: [[1]] }, 'machine_stats.gpu_usage.0', [1]],
      ['a string in an array', { gpu_usage: [1, 'x'] }, 'machine_stats.gpu_usage.1', 'x'],
      ['a null in an array', { gpu_usage: [1, null] }, 'machine_stats.gpu_usage.1', null],
      ['a string machine_stats', 'busy', 'machine_stats', 'busy'],
      ['an array machine_stats', [1, 2], 'machine_stats', [1, 2]],
    ])('value that is %s is 400/12 and stores nothing', async (_label, machineStats, field, value) => {
      await registerWorker(api, 'w');
      api.clock.advance(10);

      const result = await api.call('workers.status_report', {
        worker: 'w',
        timestamp: api.clock.seconds(),
        task: 'task-1',
        machine_stats: typeof machineStats === 'object' && !Array.isArray(machineStats) ? { memory_free: 5, ...machineStats } : machineStats,
      });

      expect(result.status).toBe(400);
      expect(result.meta.result_subcode).toBe(12);
      expect(result.meta.result_msg).toContain(`for field '${field}'`);
      expect(result.meta.error_data).toEqual({ field, value });

      const keys = await api.call('workers.get_metric_keys', {});
      expect(keys.meta.result_subcode).toBe(1005);
      const listed = await api.call('workers.get_all', {});
      expect(listed.data.workers[0].last_activity_time).toBe(isoAt(0));
      expect(listed.data.workers[0].task).toBeUndefined();
      const activity = await api.call('workers.get_activity_report', { from_date: T, to_date: T + 3600, interval: 3600 });
      expect(activity.data.total.counts).toEqual([0]);
      expect(activity.data.active.counts).toEqual([0]);
    });

    // float4 stores magnitudes up to about 3.4e38. A larger value is out of range, so the
    // API must reject it as a validation error rather than fail on it.
    test.each([1e39, -1e39, Number.MAX_VALUE])('value %d out of range is 400/12', async (value) => {
      await registerWorker(api, 'w');

      const result = await api.call('workers.status_report', { worker: 'w', timestamp: T, machine_stats: { network_tx: value } });

      expect(result.status).toBe(400);
      expect(result.meta.result_subcode).toBe(12);
      expect(result.meta.error_data).toMatchObject({ field: 'machine_stats.network_tx' });
    });
  });

  describe('workers.get_metric_keys', () => {
    async function seedTwoWorkers(): Promise<void> {
      await registerWorker(api, 'w1');
      await registerWorker(api, 'w2');
      await reportStatus(api, 'w1', { machine_stats: { network_tx: 1, cpu_usage: 1, disk_write: 1, disk_free_home: 1, cpu_temperature: 1 } });
      await reportStatus(api, 'w2', { machine_stats: { gpu_usage: [1], memory_free: 1, disk_read: 1, gpu_memory_used: [] } });
    }

    test.each([
      ['no worker_ids', {}],
      ['empty worker_ids', { worker_ids: [] }],
      ['both workers', { worker_ids: ['w2', 'w1'] }],
    ])('%s lists the keys of all workers sorted', async (_label, body) => {
      await seedTwoWorkers();

      const result = await api.call('workers.get_metric_keys', body);

      expect(result.status).toBe(200);
      expect(result.data).toEqual({
        categories: [
          { name: 'cpu', metric_keys: ['cpu_temperature', 'cpu_usage'] },
          { name: 'disk', metric_keys: ['disk_free_home', 'disk_read', 'disk_write'] },
          { name: 'gpu', metric_keys: ['gpu_usage'] },
          { name: 'memory', metric_keys: ['memory_free'] },
          { name: 'network', metric_keys: ['network_tx'] },
        ],
      });
    });

    test('worker_ids restricts the keys', async () => {
      await seedTwoWorkers();

      const result = await api.call('workers.get_metric_keys', { worker_ids: ['w1', 'ghost'] });

      expect(result.data).toEqual({
        categories: [
          { name: 'cpu', metric_keys: ['cpu_temperature', 'cpu_usage'] },
          { name: 'disk', metric_keys: ['disk_free_home', 'disk_write'] },
          { name: 'network', metric_keys: ['network_tx'] },
        ],
      });
    });

    test('no stats at all is 400/1005', async () => {
      await registerWorker(api, 'w');
      await reportStatus(api, 'w', { machine_stats: { gpu_usage: [] } });

      const result = await api.call('workers.get_metric_keys', {});

      expect(bodyOf(result)).toEqual(
        errorEnvelope(
          'workers.get_metric_keys',
          400,
          1005,
          'Worker stats not found: no worker of this company has reported stats',
          { worker_ids: [] },
          { actual: '2.4' },
        ),
      );
    });

    test('workers without stats are 400/1005', async () => {
      await seedTwoWorkers();

      const result = await api.call('workers.get_metric_keys', { worker_ids: ['ghost', 'w3'] });

      expect(bodyOf(result)).toEqual(
        errorEnvelope(
          'workers.get_metric_keys',
          400,
          1005,
          'Worker stats not found for workers ["ghost","w3"]',
          { worker_ids: ['ghost', 'w3'] },
          { actual: '2.4' },
        ),
      );
    });
  });

  describe('workers.get_stats', () => {
    // cpu_usage of w1: buckets of 60 s hold {10, 20, 60}, {5, 7}, nothing, {100}.
    const cpuSeries: [number, Record<string, unknown>][] = [
      [0, { cpu_usage: 10 }],
      [10, { cpu_usage: 20 }],
      [59, { cpu_usage: 60 }],
      [60, { cpu_usage: 5 }],
      [119, { cpu_usage: 7 }],
      [180, { cpu_usage: 100 }],
    ];

    test('avg, min and max per bucket are exact', async () => {
      await registerWorker(api, 'w1');
      await reportSeries(api, 'w1', cpuSeries);

      const workers = await statsOf(api, { from_date: T, to_date: T + 180, interval: 60, items: ALL_AGGREGATIONS });

      expect(workers).toEqual([
        {
          worker: 'w1',
          metrics: [metricEntry('cpu_usage', [T, T + 60, T + 180], { avg: [30, 6, 100], min: [10, 5, 100], max: [60, 7, 100] })],
        },
      ]);
    });

    test.each([
      ['both bounds inclusive', T + 10, T + 119, [T, T + 60], { avg: [40, 6], min: [20, 5], max: [60, 7] }],
      ['samples just outside excluded', T + 11, T + 118, [T, T + 60], { avg: [60, 5], min: [60, 5], max: [60, 5] }],
      ['to_date on a sample', T + 120, T + 180, [T + 180], { avg: [100], min: [100], max: [100] }],
      ['fractional bounds', T + 9.5, T + 10.5, [T], { avg: [20], min: [20], max: [20] }],
      ['range with no samples', T + 120, T + 179, [], {}],
    ])('range with %s', async (_label, from, to, dates, values) => {
      await registerWorker(api, 'w1');
      await reportSeries(api, 'w1', cpuSeries);

      const workers = await statsOf(api, { from_date: from, to_date: to, interval: 60, items: ALL_AGGREGATIONS });

      expect(workers).toEqual(dates.length === 0 ? [] : [{ worker: 'w1', metrics: [metricEntry('cpu_usage', dates, values)] }]);
    });

    test('worker_ids selects the listed workers in raw edges', async () => {
      await registerWorker(api, 'w1');
      await registerWorker(api, 'w2');
      await reportSeries(api, 'w1', cpuSeries);
      await reportSeries(api, 'w2', [
        [11, { cpu_usage: 1 }],
        [118, { cpu_usage: 2 }],
      ]);

      const listed = await statsOf(api, { worker_ids: ['w1'], from_date: T + 10, to_date: T + 119, interval: 60, items: ALL_AGGREGATIONS });
      const repeated = await statsOf(api, { worker_ids: ['w1', 'w1'], from_date: T + 10, to_date: T + 119, interval: 60, items: ALL_AGGREGATIONS });

      const expected = [{ worker: 'w1', metrics: [metricEntry('cpu_usage', [T, T + 60], { avg: [40, 6], min: [20, 5], max: [60, 7] })] }];
      expect(listed).toEqual(expected);
      expect(repeated).toEqual(expected);
    });

    test('buckets are aligned to the epoch', async () => {
      // START is 2 s past a multiple of 37, so its bucket of 37 s starts at START - 2.
      await registerWorker(api, 'w1');
      await reportSeries(api, 'w1', [
        [0, { cpu_usage: 10 }],
        [34, { cpu_usage: 20 }],
        [35, { cpu_usage: 30 }],
      ]);

      const workers = await statsOf(api, { from_date: T, to_date: T + 100, interval: 37, items: ALL_AGGREGATIONS });

      expect(workers).toEqual([
        {
          worker: 'w1',
          metrics: [metricEntry('cpu_usage', [1767225598, 1767225635], { avg: [15, 30], min: [10, 30], max: [20, 30] })],
        },
      ]);
    });

    test('bucket of a range starts before from_date', async () => {
      await registerWorker(api, 'w1');
      await reportSeries(api, 'w1', [
        [0, { cpu_usage: 10 }],
        [5000, { cpu_usage: 20 }],
      ]);

      const workers = await statsOf(api, { from_date: T, to_date: T + 6000, interval: 7000, items: [{ key: 'cpu_usage' }] });

      expect(workers).toEqual([{ worker: 'w1', metrics: [metricEntry('cpu_usage', [1767220000, 1767227000], { avg: [10, 20] })] }]);
    });

    test.each([
      ['10, 20 and 25', [10, 20, 25], 18.333333333333332],
      ['0.1 and 0.2', [0.1, 0.2], 0.15],
      ['0 and 0', [0, 0], 0],
      ['12.3 twice', [12.3, 12.3], 12.3],
      ['-5 and 5', [-5, 5], 0],
    ])('average of %s is exact', async (_label, values, average) => {
      await registerWorker(api, 'w1');
      await reportSeries(api, 'w1', values.map((value, index): [number, Record<string, unknown>] => [index, { cpu_usage: value }]));

      const workers = await statsOf(api, { from_date: T, to_date: T + 60, interval: 60, items: ALL_AGGREGATIONS });

      expect(workers[0].metrics[0].stats).toEqual([
        { aggregation: 'avg', dates: [T], values: [average] },
        { aggregation: 'min', dates: [T], values: [Math.min(...values)] },
        { aggregation: 'max', dates: [T], values: [Math.max(...values)] },
      ]);
    });

    test('without split_by_variant a bucket aggregates every variant', async () => {
      await registerWorker(api, 'w1');
      await reportSeries(api, 'w1', [
        [0, { gpu_usage: [10, 30] }],
        [10, { gpu_usage: [20, 60] }],
      ]);

      const implicit = await statsOf(api, {
        from_date: T,
        to_date: T + 60,
        interval: 60,
        items: ['avg', 'min', 'max'].map((aggregation) => ({ key: 'gpu_usage', aggregation })),
      });
      const explicit = await statsOf(api, {
        from_date: T,
        to_date: T + 60,
        interval: 60,
        split_by_variant: false,
        items: ['avg', 'min', 'max'].map((aggregation) => ({ key: 'gpu_usage', aggregation })),
      });

      const expected = [{ worker: 'w1', metrics: [metricEntry('gpu_usage', [T], { avg: [30], min: [10], max: [60] })] }];
      expect(implicit).toEqual(expected);
      expect(explicit).toEqual(expected);
    });

    test('split_by_variant gives one entry per variant', async () => {
      await registerWorker(api, 'w1');
      await reportSeries(api, 'w1', [
        [0, { gpu_usage: [10, 30] }],
        [10, { gpu_usage: [20, 60] }],
        [70, { gpu_usage: [40, 0] }],
      ]);

      const workers = await statsOf(api, {
        from_date: T,
        to_date: T + 120,
        interval: 60,
        split_by_variant: true,
        items: ['avg', 'min', 'max'].map((aggregation) => ({ key: 'gpu_usage', aggregation })),
      });

      expect(workers).toEqual([
        {
          worker: 'w1',
          metrics: [
            metricEntry('gpu_usage', [T, T + 60], { avg: [15, 40], min: [10, 40], max: [20, 40] }, '0'),
            metricEntry('gpu_usage', [T, T + 60], { avg: [45, 0], min: [30, 0], max: [60, 0] }, '1'),
          ],
        },
      ]);
    });

    test('scalar and per-core reports of one metric', async () => {
      await registerWorker(api, 'w1');
      await reportSeries(api, 'w1', [
        [0, { cpu_usage: 50 }],
        [10, { cpu_usage: [10, 30] }],
      ]);
      const items = ['avg', 'max'].map((aggregation) => ({ key: 'cpu_usage', aggregation }));

      const together = await statsOf(api, { from_date: T, to_date: T + 60, interval: 60, items });
      const split = await statsOf(api, { from_date: T, to_date: T + 60, interval: 60, items, split_by_variant: true });

      expect(together).toEqual([{ worker: 'w1', metrics: [metricEntry('cpu_usage', [T], { avg: [30], max: [50] })] }]);
      expect(split).toEqual([
        {
          worker: 'w1',
          metrics: [
            metricEntry('cpu_usage', [T], { avg: [50], max: [50] }, 'total'),
            metricEntry('cpu_usage', [T], { avg: [10], max: [10] }, '0'),
            metricEntry('cpu_usage', [T], { avg: [30], max: [30] }, '1'),
          ],
        },
      ]);
    });

    test('variants are ordered by device number', async () => {
      const perGpu = Array.from({ length: 12 }, (_, index) => index * 10);
      await registerWorker(api, 'w1');
      await reportStatus(api, 'w1', { machine_stats: { gpu_usage: perGpu } });

      const workers = await statsOf(api, { from_date: T, to_date: T + 60, interval: 60, split_by_variant: true, items: [{ key: 'gpu_usage' }] });

      expect(workers[0].metrics.map((entry: { variant: string }) => entry.variant)).toEqual(perGpu.map((_, index) => String(index)));
      expect(workers[0].metrics.map((entry: { stats: { values: number[] }[] }) => entry.stats[0].values[0])).toEqual(perGpu);
    });

    test.each([
      ['aggregation', [{ key: 'cpu_usage', aggregation: 'max' }], ['max']],
      ['category', [{ key: 'cpu_usage', category: 'max' }], ['max']],
      ['category min and max', [{ key: 'cpu_usage', category: 'min' }, { key: 'cpu_usage', category: 'max' }], ['min', 'max']],
      ['no aggregation', [{ key: 'cpu_usage' }], ['avg']],
      ['null aggregation', [{ key: 'cpu_usage', aggregation: null }], ['avg']],
    ])('item with %s', async (_label, items, aggregations) => {
      await registerWorker(api, 'w1');
      await reportSeries(api, 'w1', [
        [0, { cpu_usage: 10 }],
        [1, { cpu_usage: 30 }],
      ]);
      const valueOf: Record<string, number> = { avg: 20, min: 10, max: 30 };

      const workers = await statsOf(api, { from_date: T, to_date: T + 60, interval: 60, items });

      expect(workers[0].metrics[0].stats).toEqual(
        aggregations.map((aggregation) => ({ aggregation, dates: [T], values: [valueOf[aggregation]] })),
      );
    });

    test('metrics come in request order', async () => {
      await registerWorker(api, 'w1');
      await reportStatus(api, 'w1', { machine_stats: { cpu_usage: 10, memory_used: 2048, gpu_usage: [1] } });

      const workers = await statsOf(api, {
        from_date: T,
        to_date: T + 60,
        interval: 60,
        items: [{ key: 'memory_used', aggregation: 'max' }, { key: 'cpu_usage', aggregation: 'min' }],
      });

      expect(workers).toEqual([
        {
          worker: 'w1',
          metrics: [metricEntry('memory_used', [T], { max: [2048] }), metricEntry('cpu_usage', [T], { min: [10] })],
        },
      ]);
    });

    test('workers are ordered by id', async () => {
      for (const [worker, value] of [['w2', 2], ['w10', 10], ['w1', 1]] as const) {
        await registerWorker(api, worker);
        await reportStatus(api, worker, { machine_stats: { cpu_usage: value } });
      }

      const workers = await statsOf(api, { from_date: T, to_date: T + 60, interval: 60, items: [{ key: 'cpu_usage', aggregation: 'max' }] });

      expect(workers.map((entry: { worker: string }) => entry.worker)).toEqual(['w1', 'w10', 'w2']);
    });

    test.each([
      ['no worker_ids', {}, ['w1', 'w2']],
      ['empty worker_ids', { worker_ids: [] }, ['w1', 'w2']],
      ['one worker', { worker_ids: ['w2'] }, ['w2']],
      ['a known and an unknown worker', { worker_ids: ['w1', 'ghost'] }, ['w1']],
      ['a worker without samples in range', { worker_ids: ['w3'] }, []],
      ['unknown workers', { worker_ids: ['ghost', 'phantom'] }, []],
    ])('worker_ids with %s', async (_label, filter, expected) => {
      await registerWorker(api, 'w1');
      await registerWorker(api, 'w2');
      await registerWorker(api, 'w3');
      await reportSeries(api, 'w1', [[0, { cpu_usage: 1 }]]);
      await reportSeries(api, 'w2', [[0, { cpu_usage: 2 }]]);
      await reportSeries(api, 'w3', [[600, { cpu_usage: 3 }]]);

      const workers = await statsOf(api, { ...filter, from_date: T, to_date: T + 60, interval: 60, items: [{ key: 'cpu_usage', aggregation: 'max' }] });

      const byWorker: Record<string, number> = { w1: 1, w2: 2 };
      expect(workers).toEqual(
        expected.map((worker) => ({ worker, metrics: [metricEntry('cpu_usage', [T], { max: [byWorker[worker]] })] })),
      );
    });

    test('metric not reported gives no entry', async () => {
      await registerWorker(api, 'w1');
      await reportSeries(api, 'w1', [[0, { cpu_usage: 1 }]]);

      const workers = await statsOf(api, { from_date: T, to_date: T + 60, interval: 60, items: [{ key: 'gpu_usage' }] });

      expect(workers).toEqual([]);
    });

    test('query string gives the same answer as the body', async () => {
      await registerWorker(api, 'w1');
      await reportSeries(api, 'w1', [
        [0, { gpu_usage: [10, 30] }],
        [70, { gpu_usage: [20, 40] }],
      ]);
      const body = {
        worker_ids: ['w1'],
        from_date: T,
        to_date: T + 120,
        interval: 60,
        split_by_variant: true,
        items: [{ key: 'gpu_usage', aggregation: 'max' }],
      };
      const query = [
        'worker_ids=w1',
        `from_date=${T}`,
        `to_date=${T + 120}`,
        'interval=60',
        'split_by_variant=true',
        `items=${encodeURIComponent(JSON.stringify(body.items))}`,
      ].join('&');

      const fromBody = await api.call('workers.get_stats', body);
      const fromQuery = await api.call('workers.get_stats', undefined, { method: 'GET', query });

      expect(fromQuery.status).toBe(200);
      expect(fromQuery.data).toEqual(fromBody.data);
      expect(fromQuery.data.workers[0].metrics).toEqual([
        metricEntry('gpu_usage', [T, T + 60], { max: [10, 20] }, '0'),
        metricEntry('gpu_usage', [T, T + 60], { max: [30, 40] }, '1'),
      ]);
    });

    test.each([
      ['equal', T, T],
      ['reversed', T + 60, T],
    ])('from_date and to_date %s is 400/16', async (_label, from, to) => {
      const result = await api.call('workers.get_stats', { from_date: from, to_date: to, interval: 60, items: [{ key: 'cpu_usage' }] });

      expect(bodyOf(result)).toEqual(
        errorEnvelope(
          'workers.get_stats',
          400,
          16,
          `Invalid value for fields: from_date (${from}) must be lower than to_date (${to})`,
          { from_date: from, to_date: to },
          { actual: '2.4' },
        ),
      );
    });

    test.each([
      ['interval 0', { interval: 0 }, 'interval', 0],
      ['interval -60', { interval: -60 }, 'interval', -60],
      ['interval 1.5', { interval: 1.5 }, 'interval', 1.5],
      ['interval "60"', { interval: '60' }, 'interval', '60'],
      ['empty items', { items: [] }, 'items', []],
      ['items not a list', { items: { key: 'cpu_usage' } }, 'items', { key: 'cpu_usage' }],
      ['an unknown key', { items: [{ key: 'cpu' }] }, 'items.0.key', 'cpu'],
      ['an unknown aggregation', { items: [{ key: 'cpu_usage', aggregation: 'sum' }] }, 'items.0.aggregation', 'sum'],
      ['an unknown category', { items: [{ key: 'cpu_usage', category: 'median' }] }, 'items.0.category', 'median'],
      ['negative from_date', { from_date: -1 }, 'from_date', -1],
      ['string to_date', { to_date: 'now' }, 'to_date', 'now'],
      ['worker_ids not a list', { worker_ids: 'w1' }, 'worker_ids', 'w1'],
    ])('%s is 400/12', async (_label, change, field, value) => {
      const result = await api.call('workers.get_stats', { from_date: T, to_date: T + 60, interval: 60, items: [{ key: 'cpu_usage' }], ...change });

      expect(result.status).toBe(400);
      expect(result.meta.result_subcode).toBe(12);
      expect(result.meta.result_msg).toContain(`${JSON.stringify(value)} for field '${field}'`);
      expect(result.meta.error_data).toEqual({ field, value });
    });

    test('range of more than 100000 buckets is 400/12', async () => {
      const result = await api.call('workers.get_stats', { from_date: T, to_date: T + 100_000, interval: 1, items: [{ key: 'cpu_usage' }] });

      expect(result.status).toBe(400);
      expect(result.meta.result_subcode).toBe(12);
      expect(result.meta.error_data).toEqual({ field: 'interval', value: 1, from_date: T, to_date: T + 100_000, buckets: 100_001 });
    });

    // A date beyond what a timestamp can hold is out of range: a 400/12 naming the field,
    // not a server fault.
    test('to_date beyond the timestamp range is 400/12', async () => {
      const result = await api.call('workers.get_stats', { from_date: 0, to_date: 1e15, interval: 1e12, items: [{ key: 'cpu_usage' }] });

      expect(result.status).toBe(400);
      expect(result.meta.result_subcode).toBe(12);
      expect(result.meta.error_data).toMatchObject({ field: 'to_date' });
    });
  });
});
