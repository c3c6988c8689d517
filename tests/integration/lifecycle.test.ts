import { beforeEach, describe, expect, test } from 'vitest';

import { TEST_TARGETS } from '../helpers/database';

import {
  bodyOf,
  COMPANY,
  countedWorkers,
  createQueue,
  createTask,
  errorEnvelope,
  expectOk,
  isoAt,
  keyOf,
  listedIds,
  LONG_TIMEOUT,
  registerWorker,
  reportStatus,
  T,
  USER,
  useApiServer,
  type ApiFixture,
} from './fixtures';

const DAY = 86_400;

/** Ids of the queues and the task the tests name, created before each test. */
const catalog = { queueA: '', queueB: '', queueC: '', task1: '' };

/** The queue reference get_all returns for an empty queue. */
function queueRef(id: string, name: string) {
  return { id, name, num_tasks: 0 };
}

/** The task reference get_all returns for a task that never ran. */
function taskRef(id: string, name: string) {
  return { id, name, running_time: 0, last_iteration: 0 };
}

/** Returns the one worker entry get_all lists with last_seen disabled. */
async function onlyEntry(api: ApiFixture): Promise<Record<string, unknown>> {
  const result = await api.call('workers.get_all', { last_seen: 0 });
  expectOk(result);
  expect(result.data.workers).toHaveLength(1);

  return result.data.workers[0];
}

/**
 * Returns the get_stats series of one worker's cpu_usage maximum, by default in buckets of 60 s
 * over the two hours around START.
 */
async function cpuMaxSeries(api: ApiFixture, worker: string, window: { from?: number; to?: number; interval?: number } = {}) {
  const result = await api.call('workers.get_stats', {
    worker_ids: [worker],
    from_date: window.from ?? T - 3600,
    to_date: window.to ?? T + 3600,
    interval: window.interval ?? 60,
    items: [{ key: 'cpu_usage', aggregation: 'max' }],
  });
  expectOk(result);

  return result.data.workers;
}

/** Tells whether get_metric_keys finds no stats at all (1005). */
async function hasNoStats(api: ApiFixture): Promise<boolean> {
  const result = await api.call('workers.get_metric_keys', {});

  return result.status === 400 && result.meta.result_subcode === 1005;
}

/** Returns the activity counts of the hour before START and the hour from START. */
async function hourlyActivity(api: ApiFixture) {
  const result = await api.call('workers.get_activity_report', { from_date: T - 3600, to_date: T + 3600, interval: 3600 });
  expectOk(result);

  return { total: result.data.total.counts, active: result.data.active.counts };
}

describe.each(TEST_TARGETS)('worker lifecycle on %s', (target) => {
  const api = useApiServer(target);

  beforeEach(async () => {
    catalog.queueA = await createQueue(api, 'queue-a');
    catalog.queueB = await createQueue(api, 'queue-b');
    catalog.queueC = await createQueue(api, 'queue-c');
    catalog.task1 = await createTask(api, 'task-1');
  });

  describe('workers.register', () => {
    test('entry fields are exact', async () => {
      expectOk(
        await api.call('workers.register', {
          worker: 'gpu-box-07:gpu0,1',
          timeout: 120,
          queues: [catalog.queueA, catalog.queueB],
          tags: ['gpu', 'linux'],
          system_tags: ['pool:prod'],
        }),
      );

      const result = await api.call('workers.get_all', {});

      expect(result.data).toEqual({
        workers: [
          {
            id: 'gpu-box-07:gpu0,1',
            key: keyOf('gpu-box-07:gpu0,1'),
            user: { id: USER.id, name: 'admin' },
            company: { id: COMPANY.id, name: 'default' },
            ip: '127.0.0.1',
            register_time: '2026-01-01T00:00:00.000Z',
            last_activity_time: '2026-01-01T00:00:00.000Z',
            queues: [queueRef(catalog.queueA, 'queue-a'), queueRef(catalog.queueB, 'queue-b')],
            tags: ['gpu', 'linux'],
            system_tags: ['pool:prod'],
          },
        ],
      });
    });

    test('data of a register is {}', async () => {
      const result = await api.call('workers.register', { worker: 'w' });

      expect(result.status).toBe(200);
      expect(result.data).toEqual({});
    });

    test('timeout defaults to 600 seconds', async () => {
      expectOk(await api.call('workers.register', { worker: 'w' }));

      api.clock.advance(599);
      expect(await countedWorkers(api)).toBe(1);

      api.clock.advance(1);
      expect(await countedWorkers(api)).toBe(0);
    });

    test.each([0, -1, -600])('timeout %d is 400/1002', async (timeout) => {
      const result = await api.call('workers.register', { worker: 'w', timeout });

      expect(result.status).toBe(400);
      expect(bodyOf(result)).toEqual(
        errorEnvelope(
          'workers.register',
          400,
          1002,
          `Worker registration failed for "w": invalid timeout ${timeout}: must be a positive number of seconds`,
          { worker: 'w', timeout },
          { actual: '2.22' },
        ),
      );
      expect(await countedWorkers(api)).toBe(0);
    });

    test.each([1.5, 0.5, '60', true])('timeout %j is 400/12', async (timeout) => {
      const result = await api.call('workers.register', { worker: 'w', timeout });

      expect(result.status).toBe(400);
      expect(result.meta.result_subcode).toBe(12);
      expect(result.meta.error_data).toEqual({ field: 'timeout', value: timeout });
      expect(await countedWorkers(api)).toBe(0);
    });

    // A timeout beyond what the store can hold is out of range. That is a 400/12 naming
    // the field, not a server fault.
    test.each([2_147_483_648, Number.MAX_SAFE_INTEGER])('timeout %d beyond range is 400/12', async (timeout) => {
      const result = await api.call('workers.register', { worker: 'w', timeout });

      expect(result.status).toBe(400);
      expect(result.meta.result_subcode).toBe(12);
      expect(result.meta.error_data).toEqual({ field: 'timeout', value: timeout });
    });

    test('timeout of one second expires after one second', async () => {
      await registerWorker(api, 'w', { timeout: 1 });

      api.clock.advance(0.999);
      expect(await countedWorkers(api)).toBe(1);

      api.clock.advance(0.001);
      expect(await countedWorkers(api)).toBe(0);
    });

    test('register again replaces the entry and clears task and queue', async () => {
      await registerWorker(api, 'w', { queues: [catalog.queueA], tags: ['old'], system_tags: ['old-system'] });
      api.clock.advance(10);
      await reportStatus(api, 'w', { task: catalog.task1, queue: catalog.queueA });
      api.clock.advance(10);

      expectOk(await api.call('workers.register', { worker: 'w', timeout: 60, queues: [catalog.queueB], tags: ['new'] }));

      expect(await onlyEntry(api)).toEqual({
        id: 'w',
        key: keyOf('w'),
        user: { id: USER.id, name: 'admin' },
        company: { id: COMPANY.id, name: 'default' },
        ip: '127.0.0.1',
        register_time: isoAt(20),
        last_activity_time: isoAt(20),
        queues: [queueRef(catalog.queueB, 'queue-b')],
        tags: ['new'],
        system_tags: [],
      });
    });

    test('register again restarts the expiry with the new timeout', async () => {
      await registerWorker(api, 'w', { timeout: 60 });
      api.clock.advance(50);
      await registerWorker(api, 'w', { timeout: 30 });

      api.clock.advance(29);
      expect(await countedWorkers(api)).toBe(1);

      api.clock.advance(1);
      expect(await countedWorkers(api)).toBe(0);
    });

    test('register of an expired worker creates it again', async () => {
      await registerWorker(api, 'w', { timeout: 10 });
      api.clock.advance(20);

      await registerWorker(api, 'w', { timeout: 10 });

      const entry = await onlyEntry(api);
      expect(entry.register_time).toBe(isoAt(20));
      expect(entry.last_activity_time).toBe(isoAt(20));
    });
  });

  describe('expiry', () => {
    test('expired worker leaves get_all and get_count at once', async () => {
      await registerWorker(api, 'short', { timeout: 30 });
      await registerWorker(api, 'long', { timeout: 3000 });

      api.clock.advance(29);
      expect(await listedIds(api, { last_seen: 0 })).toEqual(['long', 'short']);

      api.clock.advance(1);
      expect(await listedIds(api)).toEqual(['long']);
      expect(await listedIds(api, { last_seen: 0 })).toEqual(['long']);
      expect(await listedIds(api, { last_seen: 1_000_000 })).toEqual(['long']);
      expect(await countedWorkers(api)).toBe(1);
      expect(await countedWorkers(api, { last_seen: 0 })).toBe(1);
      expect(await countedWorkers(api, { last_seen: 1_000_000 })).toBe(1);
    });

    test('status_report after expiry is 400/1001', async () => {
      await registerWorker(api, 'w', { timeout: 30 });
      api.clock.advance(30);

      const result = await api.call('workers.status_report', { worker: 'w', timestamp: api.clock.seconds() });

      expect(result.status).toBe(400);
      expect(bodyOf(result)).toEqual(
        errorEnvelope(
          'workers.status_report',
          400,
          1001,
          'Invalid worker id: worker "w" is not registered or has expired (register it again)',
          { worker: 'w' },
          { actual: '2.22' },
        ),
      );
    });

    test('stats of an expired worker stay', async () => {
      await registerWorker(api, 'w', { timeout: 30 });
      await reportStatus(api, 'w', { task: catalog.task1, machine_stats: { cpu_usage: 42 } });
      api.clock.advance(60);

      expect(await countedWorkers(api)).toBe(0);
      expect(await cpuMaxSeries(api, 'w')).toEqual([
        {
          worker: 'w',
          metrics: [{ metric: 'cpu_usage', dates: [T], stats: [{ aggregation: 'max', dates: [T], values: [42] }] }],
        },
      ]);
      const keys = await api.call('workers.get_metric_keys', { worker_ids: ['w'] });
      expect(keys.data).toEqual({ categories: [{ name: 'cpu', metric_keys: ['cpu_usage'] }] });
      expect(await hourlyActivity(api)).toEqual({ total: [0, 1], active: [0, 1] });
    });

    test('status_report extends the expiry by the timeout', async () => {
      await registerWorker(api, 'w', { timeout: 60 });
      api.clock.advance(50);
      await reportStatus(api, 'w');

      api.clock.advance(59);
      expect(await countedWorkers(api)).toBe(1);
      await reportStatus(api, 'w');

      api.clock.advance(59);
      expect(await countedWorkers(api)).toBe(1);

      api.clock.advance(1);
      expect(await countedWorkers(api)).toBe(0);
    });
  });

  describe('workers.unregister', () => {
    test('unregister removes the worker at once', async () => {
      await registerWorker(api, 'w');
      await registerWorker(api, 'other');

      const result = await api.call('workers.unregister', { worker: 'w' });

      expect(result.status).toBe(200);
      expect(result.data).toEqual({});
      expect(await listedIds(api)).toEqual(['other']);
      expect(await countedWorkers(api)).toBe(1);
    });

    test('status_report after unregister is 400/1001', async () => {
      await registerWorker(api, 'w');
      expectOk(await api.call('workers.unregister', { worker: 'w' }));

      const result = await api.call('workers.status_report', { worker: 'w', timestamp: T });

      expect(result.status).toBe(400);
      expect(result.meta.result_subcode).toBe(1001);
    });

    test.each([
      ['never registered', async () => undefined],
      ['unregistered already', async (api: ApiFixture) => {
        await registerWorker(api, 'w');
        expectOk(await api.call('workers.unregister', { worker: 'w' }));
      }],
      ['expired', async (api: ApiFixture) => {
        await registerWorker(api, 'w', { timeout: 5 });
        api.clock.advance(5);
      }],
    ])('unregister of a worker %s is 400/1004', async (_label, setUp) => {
      await setUp(api);

      const result = await api.call('workers.unregister', { worker: 'w' });

      expect(result.status).toBe(400);
      expect(bodyOf(result)).toEqual(
        errorEnvelope('workers.unregister', 400, 1004, 'Worker is not registered: "w"', { worker: 'w' }, { actual: '2.4' }),
      );
    });

    test('stats of an unregistered worker stay', async () => {
      await registerWorker(api, 'w');
      await reportStatus(api, 'w', { machine_stats: { cpu_usage: 7 } });
      expectOk(await api.call('workers.unregister', { worker: 'w' }));

      expect(await cpuMaxSeries(api, 'w')).toEqual([
        {
          worker: 'w',
          metrics: [{ metric: 'cpu_usage', dates: [T], stats: [{ aggregation: 'max', dates: [T], values: [7] }] }],
        },
      ]);
      expect(await hourlyActivity(api)).toEqual({ total: [0, 1], active: [0, 0] });
    });
  });

  describe('workers.status_report', () => {
    test('report updates times, task, queue, queues and tags', async () => {
      await registerWorker(api, 'w', { queues: [catalog.queueA], tags: ['registered'], system_tags: ['registered-system'] });
      api.clock.advance(30);

      const result = await api.call('workers.status_report', {
        worker: 'w',
        timestamp: api.clock.seconds(),
        task: catalog.task1,
        queue: catalog.queueB,
        queues: [catalog.queueB, catalog.queueC],
        tags: ['reported'],
        system_tags: ['reported-system'],
      });

      expect(result.status).toBe(200);
      expect(result.data).toEqual({});
      expect(await onlyEntry(api)).toEqual({
        id: 'w',
        key: keyOf('w'),
        user: { id: USER.id, name: 'admin' },
        company: { id: COMPANY.id, name: 'default' },
        ip: '127.0.0.1',
        register_time: isoAt(0),
        last_activity_time: isoAt(30),
        last_report_time: isoAt(30),
        task: taskRef(catalog.task1, 'task-1'),
        queue: queueRef(catalog.queueB, 'queue-b'),
        queues: [queueRef(catalog.queueB, 'queue-b'), queueRef(catalog.queueC, 'queue-c')],
        tags: ['reported'],
        system_tags: ['reported-system'],
      });
    });

    test('report without task and queue clears them and keeps queues and tags', async () => {
      await registerWorker(api, 'w', { queues: [catalog.queueA], tags: ['registered'], system_tags: ['registered-system'] });
      await reportStatus(api, 'w', { task: catalog.task1, queue: catalog.queueA });
      api.clock.advance(45);

      await reportStatus(api, 'w');

      const entry = await onlyEntry(api);
      expect(entry.task).toBeUndefined();
      expect(entry.queue).toBeUndefined();
      expect(entry.project).toBeUndefined();
      expect(entry.queues).toEqual([queueRef(catalog.queueA, 'queue-a')]);
      expect(entry.tags).toEqual(['registered']);
      expect(entry.system_tags).toEqual(['registered-system']);
      expect(entry.last_activity_time).toBe(isoAt(45));
      expect(entry.last_report_time).toBe(isoAt(45));
    });

    test('empty queues list keeps the queues', async () => {
      await registerWorker(api, 'w', { queues: [catalog.queueA] });

      await reportStatus(api, 'w', { queues: [] });

      expect((await onlyEntry(api)).queues).toEqual([queueRef(catalog.queueA, 'queue-a')]);
    });

    test('empty tag lists are present and clear the tags', async () => {
      await registerWorker(api, 'w', { tags: ['registered'], system_tags: ['registered-system'] });

      await reportStatus(api, 'w', { tags: [], system_tags: [] });

      const entry = await onlyEntry(api);
      expect(entry.tags).toEqual([]);
      expect(entry.system_tags).toEqual([]);
    });

    test('null task, queue and tags mean absent', async () => {
      await registerWorker(api, 'w', { queues: [catalog.queueA], tags: ['registered'] });
      await reportStatus(api, 'w', { task: catalog.task1, queue: catalog.queueA });

      await reportStatus(api, 'w', { task: null, queue: null, queues: null, tags: null, system_tags: null, machine_stats: null });

      const entry = await onlyEntry(api);
      expect(entry.task).toBeUndefined();
      expect(entry.queue).toBeUndefined();
      expect(entry.queues).toEqual([queueRef(catalog.queueA, 'queue-a')]);
      expect(entry.tags).toEqual(['registered']);
    });

    test('clearml-agent report with extra fields is accepted', async () => {
      await registerWorker(api, 'agent:gpu0');

      const result = await api.call('workers.status_report', {
        worker: 'agent:gpu0',
        timestamp: T * 1000,
        machine_stats: null,
        is_daemon: true,
        task: null,
      });

      expectOk(result);
      expect((await onlyEntry(api)).last_report_time).toBe(isoAt(0));
    });

    test('unknown worker is 400/1001', async () => {
      const result = await api.call('workers.status_report', { worker: 'ghost', timestamp: T });

      expect(result.status).toBe(400);
      expect(bodyOf(result)).toEqual(
        errorEnvelope(
          'workers.status_report',
          400,
          1001,
          'Invalid worker id: worker "ghost" is not registered or has expired (register it again)',
          { worker: 'ghost' },
          { actual: '2.22' },
        ),
      );
      expect(await hourlyActivity(api)).toEqual({ total: [0, 0], active: [0, 0] });
    });

    test('report without machine_stats counts as activity and adds no samples', async () => {
      await registerWorker(api, 'w');

      await reportStatus(api, 'w', { task: catalog.task1 });
      await reportStatus(api, 'w', { machine_stats: {} });

      expect(await cpuMaxSeries(api, 'w')).toEqual([]);
      expect(await hasNoStats(api)).toBe(true);
      expect(await hourlyActivity(api)).toEqual({ total: [0, 1], active: [0, 1] });
    });
  });

  describe('report timestamp', () => {
    test.each([
      ['seconds', T + 5, T + 5],
      ['fractional seconds', T + 5.75, T + 5],
      ['milliseconds', (T + 7) * 1000, T + 7],
      ['fractional milliseconds', (T + 7) * 1000 + 999.5, T + 7],
      ['1e11 as milliseconds', 1e11, 1e8],
      ['zero seconds', 0, 0],
      ['one day ahead in seconds', T + 60 + DAY, T + 60 + DAY],
      ['one day ahead in milliseconds', (T + 60 + DAY) * 1000, T + 60 + DAY],
    ])('%s timestamp %d is stored at second %d', async (_label, timestamp, second) => {
      await registerWorker(api, 'w');
      api.clock.advance(60);

      await reportStatus(api, 'w', { timestamp, machine_stats: { cpu_usage: 1 } });

      const series = await cpuMaxSeries(api, 'w', { from: Math.max(0, second - 600), to: second + 600, interval: 1 });
      expect(series).toHaveLength(1);
      expect(series[0].metrics[0].dates).toEqual([second]);
    });

    test.each([
      ['negative', -1],
      ['negative milliseconds', -(T * 1000)],
      ['just below 1e11 (seconds, year 5138)', 1e11 - 1],
      ['one day and one second ahead', T + 60 + DAY + 1],
      ['one day and one millisecond ahead', (T + 60 + DAY) * 1000 + 1],
    ])('%s timestamp is 400/12 and stores nothing', async (_label, timestamp) => {
      await registerWorker(api, 'w');
      api.clock.advance(60);

      const result = await api.call('workers.status_report', {
        worker: 'w',
        timestamp,
        task: catalog.task1,
        queue: catalog.queueA,
        tags: ['changed'],
        machine_stats: { cpu_usage: 1 },
      });

      expect(result.status).toBe(400);
      expect(result.meta.result_subcode).toBe(12);
      expect(result.meta.result_msg).toContain(`for field 'timestamp'`);
      expect(result.meta.error_data).toEqual({ field: 'timestamp', value: timestamp });

      const entry = await onlyEntry(api);
      expect(entry.last_activity_time).toBe(isoAt(0));
      expect(entry.last_report_time).toBeUndefined();
      expect(entry.task).toBeUndefined();
      expect(entry.tags).toEqual([]);
      expect(await hasNoStats(api)).toBe(true);
      expect(await hourlyActivity(api)).toEqual({ total: [0, 0], active: [0, 0] });
    });

    test.each([
      ['a string', '1767225600'],
      ['a boolean', true],
      ['an object', { seconds: T }],
      ['an array', [T]],
    ])('timestamp that is %s is 400/12', async (_label, timestamp) => {
      await registerWorker(api, 'w');

      const result = await api.call('workers.status_report', { worker: 'w', timestamp, machine_stats: { cpu_usage: 1 } });

      expect(result.status).toBe(400);
      expect(result.meta.result_subcode).toBe(12);
      expect(result.meta.error_data).toEqual({ field: 'timestamp', value: timestamp });
      expect((await onlyEntry(api)).last_report_time).toBeUndefined();
    });

    test('missing timestamp is 400/11', async () => {
      await registerWorker(api, 'w');

      const result = await api.call('workers.status_report', { worker: 'w', machine_stats: { cpu_usage: 1 } });

      expect(bodyOf(result)).toEqual(
        errorEnvelope('workers.status_report', 400, 11, 'Missing required fields: timestamp', { fields: ['timestamp'] }, { actual: '2.22' }),
      );
    });
  });

  describe('worker ids', () => {
    const validIds = [
      'gpu-box-07:gpu0,1',
      'host:cpu:2',
      'host:service:0123456789abcdef0123456789abcdef',
      'rack/1/node 3',
      'with spaces  inside',
      'dotted.host.example',
      'Straße-北京-ñandú',
      '😀 emoji',
      '100%_done',
      '%',
      '"quoted" \\back\\slash',
      '{braces},[brackets]',
      "it's",
      'NULL',
      'x'.repeat(255),
      '😀'.repeat(255),
    ];

    test.each(validIds)('id %j round-trips through register, get_all and unregister', async (worker) => {
      await registerWorker(api, worker);

      const listed = await api.call('workers.get_all', {});
      expect(listed.data.workers.map((entry: { id: string }) => entry.id)).toEqual([worker]);
      expect(listed.data.workers[0].key).toBe(keyOf(worker));

      expectOk(await api.call('workers.unregister', { worker }));
      expect(await countedWorkers(api)).toBe(0);
    });

    test.each(validIds)('id %j round-trips through status_report and get_stats', async (worker) => {
      await registerWorker(api, worker);
      await reportStatus(api, worker, { machine_stats: { cpu_usage: 3 } });

      const stats = await cpuMaxSeries(api, worker);
      expect(stats.map((entry: { worker: string }) => entry.worker)).toEqual([worker]);
      const keys = await api.call('workers.get_metric_keys', { worker_ids: [worker] });
      expect(keys.data).toEqual({ categories: [{ name: 'cpu', metric_keys: ['cpu_usage'] }] });
    });

    test.each([
      ['empty', ''],
      ['256 characters', 'x'.repeat(256)],
      ['256 non-ASCII characters', '😀'.repeat(256)],
      ['a newline', 'host\nname'],
      ['a tab', 'host\tname'],
      ['NUL', 'host\u0000'],
      ['DEL', 'host\u007f'],
      ['a C1 control', 'host\u0085'],
    ])('id with %s is 400/12', async (_label, worker) => {
      for (const [endpoint, body] of [
        ['workers.register', { worker }],
        ['workers.status_report', { worker, timestamp: T }],
        ['workers.unregister', { worker }],
      ] as const) {
        const result = await api.call(endpoint, body);

        expect(result.status, endpoint).toBe(400);
        expect(result.meta.result_subcode, endpoint).toBe(12);
        expect(result.meta.error_data, endpoint).toEqual({ field: 'worker', value: worker });
      }
      expect(await countedWorkers(api)).toBe(0);
    });
  });
});

describe.each(TEST_TARGETS)('caller address on %s', (target) => {
  describe('without a trusted proxy', () => {
    const api = useApiServer(target, { trustProxy: false });

    test('X-Forwarded-For is ignored', async () => {
      const headers = { 'x-forwarded-for': '203.0.113.7, 10.0.0.1' };

      expectOk(await api.call('workers.register', { worker: 'w', timeout: LONG_TIMEOUT }, { headers }));
      expect((await onlyEntry(api)).ip).toBe('127.0.0.1');

      expectOk(await api.call('workers.status_report', { worker: 'w', timestamp: T }, { headers }));
      expect((await onlyEntry(api)).ip).toBe('127.0.0.1');
    });
  });

  describe('behind a trusted proxy', () => {
    const api = useApiServer(target, { trustProxy: true });

    test('first X-Forwarded-For address is the ip', async () => {
      expectOk(
        await api.call('workers.register', { worker: 'w', timeout: LONG_TIMEOUT }, { headers: { 'x-forwarded-for': '203.0.113.7, 10.0.0.1' } }),
      );
      expect((await onlyEntry(api)).ip).toBe('203.0.113.7');

      expectOk(await api.call('workers.status_report', { worker: 'w', timestamp: T }, { headers: { 'x-forwarded-for': '198.51.100.9' } }));
      expect((await onlyEntry(api)).ip).toBe('198.51.100.9');
    });

    test('socket address is the ip without the header', async () => {
      await registerWorker(api, 'w');

      expect((await onlyEntry(api)).ip).toBe('127.0.0.1');
    });
  });
});
