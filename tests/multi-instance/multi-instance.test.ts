import { readFileSync } from 'node:fs';
import path from 'node:path';

import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { DEFAULT_COMPANY, DEFAULT_USER } from '@/lib/identity';

import { callApi, type ApiCallResult } from '../helpers/api';
import { testDatabasePrefix } from '../helpers/database';
import { allListening, createSharedDatabase, readFromEach, startInstance, type Instance, type SharedDatabase } from './instances';

// Two API server processes share one PostgreSQL database, as service instances behind a
// load balancer do. Writes alternate between them and every read must return the same
// data from both, because no response may depend on state inside one process.

const ADMIN_URL = process.env.TEST_DATABASE_URL;

/** Start of the fleet's reports in seconds since the epoch. It is a multiple of 86400, so buckets of 40, 60 and 3600 s start on it. */
const T = Date.parse('2026-01-01T00:00:00.000Z') / 1000;

/** The fixed clock of both instances: one hour after T, so the reports lie in the past. */
const NOW_ISO = '2026-01-01T01:00:00.000Z';
const NOW = Date.parse(NOW_ISO) / 1000;

/** A registration timeout (seconds) that no test outlives. */
const LONG_TIMEOUT = 1_000_000;

/** Instance names by index, for failure messages. */
const INSTANCE_NAMES = ['A', 'B'];

/** Seconds between two reports of one worker in the concurrent batch. */
const REPORT_SPACING = 30;

/** Reports per worker in the concurrent batch, at T, T+30, T+60 and T+90. */
const REPORTS_PER_WORKER = 4;

interface FleetWorker {
  id: string;
  queues: string[];
  tags: string[];
  systemTags: string[];
  /** Number of GPUs: the length of the gpu_usage array, none when 0. */
  gpus: number;
  /** cpu_usage of report k is [base + k, base + k + 4] and memory_used is 100 * base + 100 * k (MB). */
  base: number;
  /** The task of each batch report, by report index. Undefined sends no task. */
  tasks: (string | undefined)[];
  /** The fields of the last report, sent after the batch at T + 150 with no machine_stats. */
  last: { task?: string; queue?: string; queues?: string[] };
}

// Sorted by worker id, which is the order of both get_all and get_stats for these ids.
const FLEET: FleetWorker[] = [
  {
    id: 'cpu-box:cpu:2',
    queues: ['q-cpu'],
    tags: ['cpu'],
    systemTags: [],
    gpus: 0,
    base: 10,
    tasks: [undefined, undefined, undefined, 'task-c'],
    last: { queue: 'q-cpu' },
  },
  {
    id: 'gpu-box-01:gpu0,1',
    queues: ['q-gpu'],
    tags: ['gpu'],
    systemTags: ['pool-a'],
    gpus: 2,
    base: 20,
    tasks: ['task-a', 'task-a', 'task-a', 'task-a'],
    last: { task: 'task-a', queue: 'q-gpu' },
  },
  {
    id: 'gpu-box-02:gpu0',
    queues: ['q-gpu'],
    tags: ['gpu'],
    systemTags: [],
    gpus: 1,
    base: 30,
    tasks: ['task-b', 'task-b', 'task-b', 'task-b'],
    last: { queue: 'q-gpu' },
  },
  {
    id: 'host:service:7f3a',
    queues: [],
    tags: [],
    systemTags: [],
    gpus: 0,
    base: 40,
    tasks: [undefined, undefined, undefined, undefined],
    last: { task: 'task-d', queues: ['q-services'] },
  },
];

/** Builds the machine_stats of batch report `k` of `worker`. */
function machineStats(worker: FleetWorker, k: number): Record<string, unknown> {
  const stats: Record<string, unknown> = {
    cpu_usage: [worker.base + k, worker.base + k + 4],
    memory_used: 100 * worker.base + 100 * k,
  };
  if (worker.gpus > 0) {
    // GPU g reports 40 + 20 * g + 2 * k percent.
    stats.gpu_usage = Array.from({ length: worker.gpus }, (_, g) => 40 + 20 * g + 2 * k);
  }

  return stats;
}

/** Builds the get_all entry of a worker of the default company and user, with the clock at NOW. */
function workerEntry(id: string, fields: Record<string, unknown>): Record<string, unknown> {
  return {
    id,
    key: `worker_${DEFAULT_COMPANY.id}_${DEFAULT_USER.id}_${id}`,
    user: { id: DEFAULT_USER.id, name: DEFAULT_USER.name },
    company: { id: DEFAULT_COMPANY.id, name: DEFAULT_COMPANY.name },
    ip: '127.0.0.1',
    register_time: NOW_ISO,
    last_activity_time: NOW_ISO,
    ...fields,
  };
}

/** Builds one get_stats series whose aggregations share the metric's dates. */
function series(metric: string, dates: number[], values: Record<string, number[]>, variant?: string) {
  return {
    metric,
    ...(variant === undefined ? {} : { variant }),
    dates,
    stats: Object.entries(values).map(([aggregation, aggregated]) => ({ aggregation, dates, values: aggregated })),
  };
}

/** Returns the status and meta of an error response, without the request id, trx and versions. */
function errorMeta(result: ApiCallResult) {
  const { id: _id, trx: _trx, endpoint, ...meta } = result.meta;

  return { status: result.status, endpoint: endpoint.name, ...meta };
}

describe.skipIf(!ADMIN_URL)(
  `two service instances on one database${ADMIN_URL ? '' : ' (skipped: TEST_DATABASE_URL is not set to a PostgreSQL admin URL)'}`,
  () => {
    const databaseName = `${testDatabasePrefix()}multi_instance_${process.pid}`;
    let shared: SharedDatabase | undefined;
    let database: postgres.Sql | undefined;
    let instances: Instance[] = [];
    let urls: string[] = [];

    /** Calls `endpoint` on instance `index` (0 is A, 1 is B). */
    const callOn = (index: number, endpoint: string, body: unknown) => callApi(urls[index], endpoint, body);

    /** Fails unless the call returned 200, with the envelope's message. */
    const expectOk = (result: ApiCallResult, instance: string) =>
      expect(
        { status: result.status, subcode: result.meta.result_subcode },
        `${result.meta.endpoint.name} on instance ${instance} returned ${result.status}: ${result.meta.result_msg}`,
      ).toEqual({ status: 200, subcode: 0 });

    /** Sends the same read to both instances at once, checks both are equal and returns the data. */
    const readBoth = (endpoint: string, body: Record<string, unknown>): Promise<unknown> =>
      readFromEach(urls, INSTANCE_NAMES, endpoint, body);

    beforeAll(async () => {
      if (!ADMIN_URL) {
        return;
      }

      const created = await createSharedDatabase(ADMIN_URL, databaseName);
      shared = created;
      // Both start at once on the empty database, so both apply the migrations concurrently.
      instances = INSTANCE_NAMES.map((name) => startInstance(name, created.url, { now: NOW_ISO }));
      urls = await allListening(instances);
      database = postgres(created.url, { max: 1, onnotice: () => {} });
    });

    afterAll(async () => {
      await Promise.all(instances.map((instance) => instance.stop()));
      await database?.end();
      await shared?.drop();
    });

    test('concurrent start applies each migration once', async () => {
      const journal = JSON.parse(readFileSync(path.resolve(__dirname, '../../db/migrations/meta/_journal.json'), 'utf8')) as {
        entries: { when: number }[];
      };
      if (!database) {
        throw new Error('no connection to the test database: the instances did not start');
      }

      const applied = await database<{ created_at: string }[]>`
        SELECT created_at FROM drizzle.__drizzle_migrations ORDER BY created_at`;

      expect(applied.map((row) => Number(row.created_at))).toEqual(journal.entries.map((entry) => entry.when));
      for (const instance of instances) {
        expect(instance.logs.filter((line) => line.msg === 'database ready'), `instance ${instance.name}`).toHaveLength(1);
      }
    });

    // This test expects the database to contain no workers yet, so it runs before the others,
    // which use worker ids and time windows of their own.
    test('fleet via both instances reads identically', async () => {
      // The queues and tasks the fleet names are created on A, and read through both.
      const catalogIds = new Map<string, string>();
      for (const name of ['q-cpu', 'q-gpu', 'q-services']) {
        const created = await callOn(0, 'queues.create', { name });
        expectOk(created, 'A');
        catalogIds.set(name, created.data.id);
      }
      for (const name of ['task-a', 'task-b', 'task-c', 'task-d']) {
        const created = await callOn(1, 'tasks.create', { name, type: 'training' });
        expectOk(created, 'B');
        catalogIds.set(name, created.data.id);
      }
      const idOf = (name: string | undefined) => (name === undefined ? undefined : catalogIds.get(name));
      const queueRef = (name: string) => ({ id: idOf(name), name, num_tasks: 0 });
      const taskRef = (name: string) => ({ id: idOf(name), name, running_time: 0, last_iteration: 0 });

      // Each worker registers on A or B by turn, and gpu-box-01 also registers on A at the same moment.
      const registrations = FLEET.map((worker, index) => ({ worker, instance: index % 2 }));
      registrations.push({ worker: FLEET[1], instance: 0 });
      const registered = await Promise.all(
        registrations.map(({ worker, instance }) =>
          callOn(instance, 'workers.register', {
            worker: worker.id,
            timeout: LONG_TIMEOUT,
            queues: worker.queues.map(idOf),
            tags: worker.tags,
            system_tags: worker.systemTags,
          }),
        ),
      );
      registered.forEach((result, index) => expectOk(result, INSTANCE_NAMES[registrations[index].instance]));

      // All batch reports at once, alternating instances per worker and per report.
      const batch = FLEET.flatMap((worker, index) =>
        Array.from({ length: REPORTS_PER_WORKER }, (_, k) => ({ worker, k, instance: (index + k) % 2 })),
      );
      const reported = await Promise.all(
        batch.map(({ worker, k, instance }) =>
          callOn(instance, 'workers.status_report', {
            worker: worker.id,
            timestamp: T + REPORT_SPACING * k,
            task: idOf(worker.tasks[k]),
            machine_stats: machineStats(worker, k),
          }),
        ),
      );
      reported.forEach((result, index) => expectOk(result, INSTANCE_NAMES[batch[index].instance]));

      // One report per worker after the batch, through the instance it did not register on.
      for (const [index, worker] of FLEET.entries()) {
        const instance = (index + 1) % 2;
        expectOk(
          await callOn(instance, 'workers.status_report', {
            worker: worker.id,
            timestamp: T + 150,
            task: idOf(worker.last.task),
            queue: idOf(worker.last.queue),
            queues: worker.last.queues?.map(idOf),
          }),
          INSTANCE_NAMES[instance],
        );
      }

      expect(await readBoth('workers.get_all', {})).toEqual({
        workers: [
          workerEntry('cpu-box:cpu:2', {
            last_report_time: NOW_ISO,
            queue: queueRef('q-cpu'),
            queues: [queueRef('q-cpu')],
            tags: ['cpu'],
            system_tags: [],
          }),
          workerEntry('gpu-box-01:gpu0,1', {
            last_report_time: NOW_ISO,
            task: taskRef('task-a'),
            queue: queueRef('q-gpu'),
            queues: [queueRef('q-gpu')],
            tags: ['gpu'],
            system_tags: ['pool-a'],
          }),
          workerEntry('gpu-box-02:gpu0', {
            last_report_time: NOW_ISO,
            queue: queueRef('q-gpu'),
            queues: [queueRef('q-gpu')],
            tags: ['gpu'],
            system_tags: [],
          }),
          workerEntry('host:service:7f3a', {
            last_report_time: NOW_ISO,
            task: taskRef('task-d'),
            queues: [queueRef('q-services')],
            tags: [],
            system_tags: [],
          }),
        ],
      });
      const gpuBoxes = (await readBoth('workers.get_all', { worker_pattern: 'gpu-box-0?:*' })) as { workers: { id: string }[] };
      expect(gpuBoxes.workers.map((worker) => worker.id)).toEqual(['gpu-box-01:gpu0,1', 'gpu-box-02:gpu0']);

      expect(await readBoth('workers.get_count', {})).toEqual({ count: 4 });
      expect(await readBoth('workers.get_count', { tags: ['gpu'] })).toEqual({ count: 2 });
      expect(await readBoth('workers.get_count', { system_tags: ['-pool-a'] })).toEqual({ count: 3 });

      expect(await readBoth('workers.get_metric_keys', {})).toEqual({
        categories: [
          { name: 'cpu', metric_keys: ['cpu_usage'] },
          { name: 'gpu', metric_keys: ['gpu_usage'] },
          { name: 'memory', metric_keys: ['memory_used'] },
        ],
      });
      expect(await readBoth('workers.get_metric_keys', { worker_ids: ['cpu-box:cpu:2'] })).toEqual({
        categories: [
          { name: 'cpu', metric_keys: ['cpu_usage'] },
          { name: 'memory', metric_keys: ['memory_used'] },
        ],
      });

      // Buckets of 60 s: reports 0 and 1 fall in T, reports 2 and 3 in T + 60. The last
      // reports at T + 150 carry no machine_stats, so bucket T + 120 has no samples.
      const dates = [T, T + 60];
      const allVariants = await readBoth('workers.get_stats', {
        from_date: T,
        to_date: T + 150,
        interval: 60,
        items: [
          { key: 'cpu_usage', aggregation: 'avg' },
          { key: 'cpu_usage', aggregation: 'min' },
          { key: 'cpu_usage', aggregation: 'max' },
          { key: 'memory_used', aggregation: 'avg' },
          { key: 'gpu_usage', aggregation: 'max' },
        ],
      });
      expect(allVariants).toEqual({
        workers: [
          {
            worker: 'cpu-box:cpu:2',
            metrics: [
              series('cpu_usage', dates, { avg: [12.5, 14.5], min: [10, 12], max: [15, 17] }),
              series('memory_used', dates, { avg: [1050, 1250] }),
            ],
          },
          {
            worker: 'gpu-box-01:gpu0,1',
            metrics: [
              series('cpu_usage', dates, { avg: [22.5, 24.5], min: [20, 22], max: [25, 27] }),
              series('memory_used', dates, { avg: [2050, 2250] }),
              series('gpu_usage', dates, { max: [62, 66] }),
            ],
          },
          {
            worker: 'gpu-box-02:gpu0',
            metrics: [
              series('cpu_usage', dates, { avg: [32.5, 34.5], min: [30, 32], max: [35, 37] }),
              series('memory_used', dates, { avg: [3050, 3250] }),
              series('gpu_usage', dates, { max: [42, 46] }),
            ],
          },
          {
            worker: 'host:service:7f3a',
            metrics: [
              series('cpu_usage', dates, { avg: [42.5, 44.5], min: [40, 42], max: [45, 47] }),
              series('memory_used', dates, { avg: [4050, 4250] }),
            ],
          },
        ],
      });

      // One bucket of an hour contains all four batch reports of each worker.
      const hourly = await readBoth('workers.get_stats', {
        from_date: T,
        to_date: T + 3600,
        interval: 3600,
        items: [
          { key: 'cpu_usage', aggregation: 'avg' },
          { key: 'cpu_usage', aggregation: 'min' },
          { key: 'cpu_usage', aggregation: 'max' },
          { key: 'memory_used', aggregation: 'avg' },
          { key: 'gpu_usage', aggregation: 'max' },
        ],
      });
      expect(hourly).toEqual({
        workers: [
          {
            worker: 'cpu-box:cpu:2',
            metrics: [
              series('cpu_usage', [T], { avg: [13.5], min: [10], max: [17] }),
              series('memory_used', [T], { avg: [1150] }),
            ],
          },
          {
            worker: 'gpu-box-01:gpu0,1',
            metrics: [
              series('cpu_usage', [T], { avg: [23.5], min: [20], max: [27] }),
              series('memory_used', [T], { avg: [2150] }),
              series('gpu_usage', [T], { max: [66] }),
            ],
          },
          {
            worker: 'gpu-box-02:gpu0',
            metrics: [
              series('cpu_usage', [T], { avg: [33.5], min: [30], max: [37] }),
              series('memory_used', [T], { avg: [3150] }),
              series('gpu_usage', [T], { max: [46] }),
            ],
          },
          {
            worker: 'host:service:7f3a',
            metrics: [
              series('cpu_usage', [T], { avg: [43.5], min: [40], max: [47] }),
              series('memory_used', [T], { avg: [4150] }),
            ],
          },
        ],
      });

      const byVariant = await readBoth('workers.get_stats', {
        worker_ids: ['gpu-box-01:gpu0,1', 'unknown-box'],
        from_date: T,
        to_date: T + 150,
        interval: 60,
        split_by_variant: true,
        items: [
          { key: 'cpu_usage', aggregation: 'max' },
          { key: 'gpu_usage', aggregation: 'avg' },
          { key: 'memory_used', category: 'min' },
        ],
      });
      expect(byVariant).toEqual({
        workers: [
          {
            worker: 'gpu-box-01:gpu0,1',
            metrics: [
              series('cpu_usage', dates, { max: [21, 23] }, '0'),
              series('cpu_usage', dates, { max: [25, 27] }, '1'),
              series('gpu_usage', dates, { avg: [41, 45] }, '0'),
              series('gpu_usage', dates, { avg: [61, 65] }, '1'),
              series('memory_used', dates, { min: [2000, 2200] }, 'total'),
            ],
          },
        ],
      });

      // Active workers: gpu-box-01 and gpu-box-02 run tasks in the batch, cpu-box only in
      // its report at T + 90, and the last reports name tasks for gpu-box-01 and the host.
      expect(await readBoth('workers.get_activity_report', { from_date: T, to_date: T + 180, interval: 60 })).toEqual({
        total: { dates: [T, T + 60, T + 120], counts: [4, 4, 4] },
        active: { dates: [T, T + 60, T + 120], counts: [2, 3, 2] },
      });
      // Every worker ran a task at some point of the hour.
      expect(await readBoth('workers.get_activity_report', { from_date: T, to_date: T + 3600, interval: 3600 })).toEqual({
        total: { dates: [T], counts: [4] },
        active: { dates: [T], counts: [4] },
      });
      // An interval of 30 s is raised to 40 s. Bucket T + 120 is dropped as less than 90% complete.
      expect(await readBoth('workers.get_activity_report', { from_date: T, to_date: T + 120, interval: 30 })).toEqual({
        total: { dates: [T, T + 40, T + 80], counts: [4, 4, 4] },
        active: { dates: [T, T + 40, T + 80], counts: [2, 2, 3] },
      });
    });

    test('worker registered on A reports through B', async () => {
      const worker = 'relay-box:gpu0';
      const queueCreated = await callOn(0, 'queues.create', { name: 'q-relay' });
      const taskCreated = await callOn(1, 'tasks.create', { name: 'task-r', type: 'training' });
      expectOk(queueCreated, 'A');
      expectOk(taskCreated, 'B');
      const queueId: string = queueCreated.data.id;
      const taskId: string = taskCreated.data.id;
      const queueRef = { id: queueId, name: 'q-relay', num_tasks: 0 };

      expectOk(await callOn(0, 'workers.register', { worker, timeout: 600, queues: [queueId] }), 'A');
      expect(await readBoth('workers.get_all', { worker_pattern: 'relay-box:*' })).toEqual({
        workers: [workerEntry(worker, { queues: [queueRef], tags: [], system_tags: [] })],
      });

      expectOk(
        await callOn(1, 'workers.status_report', {
          worker,
          // Milliseconds, as clearml-agent sends them.
          timestamp: (NOW - 30) * 1000,
          task: taskId,
          queue: queueId,
          machine_stats: { cpu_usage: 55.5, gpu_memory_used: [1024, 2048] },
        }),
        'B',
      );

      expect(await readBoth('workers.get_all', { worker_pattern: 'relay-box:*' })).toEqual({
        workers: [
          workerEntry(worker, {
            last_report_time: NOW_ISO,
            task: { id: taskId, name: 'task-r', running_time: 0, last_iteration: 0 },
            queue: queueRef,
            queues: [queueRef],
            tags: [],
            system_tags: [],
          }),
        ],
      });
      expect(await readBoth('workers.get_metric_keys', { worker_ids: [worker] })).toEqual({
        categories: [
          { name: 'cpu', metric_keys: ['cpu_usage'] },
          { name: 'gpu', metric_keys: ['gpu_memory_used'] },
        ],
      });
      expect(
        await readBoth('workers.get_stats', {
          worker_ids: [worker],
          from_date: NOW - 60,
          to_date: NOW,
          interval: 60,
          items: [
            { key: 'cpu_usage', aggregation: 'avg' },
            { key: 'gpu_memory_used', aggregation: 'max' },
          ],
        }),
      ).toEqual({
        workers: [
          {
            worker,
            metrics: [
              series('cpu_usage', [NOW - 60], { avg: [55.5] }),
              series('gpu_memory_used', [NOW - 60], { max: [2048] }),
            ],
          },
        ],
      });
    });

    test('unregister on B removes worker from A', async () => {
      const leaving = 'leaving-box';
      expectOk(await callOn(0, 'workers.register', { worker: leaving, timeout: 600 }), 'A');
      expectOk(await callOn(0, 'workers.register', { worker: 'staying-box', timeout: 600 }), 'A');
      expectOk(
        await callOn(1, 'workers.status_report', { worker: leaving, timestamp: NOW - 10, machine_stats: { cpu_usage: 12.5 } }),
        'B',
      );
      const before = (await readBoth('workers.get_all', { worker_pattern: '*ing-box' })) as { workers: { id: string }[] };
      expect(before.workers.map((worker) => worker.id)).toEqual([leaving, 'staying-box']);
      expect(await readBoth('workers.get_count', { worker_pattern: '*ing-box' })).toEqual({ count: 2 });

      expectOk(await callOn(1, 'workers.unregister', { worker: leaving }), 'B');

      const after = (await readBoth('workers.get_all', { worker_pattern: '*ing-box' })) as { workers: { id: string }[] };
      expect(after.workers.map((worker) => worker.id)).toEqual(['staying-box']);
      expect(await readBoth('workers.get_count', { worker_pattern: '*ing-box' })).toEqual({ count: 1 });

      const unregisterAgain = await callOn(0, 'workers.unregister', { worker: leaving });
      expect(errorMeta(unregisterAgain)).toEqual({
        status: 400,
        endpoint: 'workers.unregister',
        result_code: 400,
        result_subcode: 1004,
        result_msg: 'Worker is not registered: "leaving-box"',
        error_stack: null,
        error_data: { worker: leaving },
      });
      const reportAfter = await callOn(0, 'workers.status_report', { worker: leaving, timestamp: NOW });
      expect(errorMeta(reportAfter)).toEqual({
        status: 400,
        endpoint: 'workers.status_report',
        result_code: 400,
        result_subcode: 1001,
        result_msg: 'Invalid worker id: worker "leaving-box" is not registered or has expired (register it again)',
        error_stack: null,
        error_data: { worker: leaving },
      });

      // The samples of an unregistered worker stay.
      expect(
        await readBoth('workers.get_stats', {
          worker_ids: [leaving],
          from_date: NOW - 60,
          to_date: NOW,
          interval: 60,
          items: [{ key: 'cpu_usage', aggregation: 'max' }],
        }),
      ).toEqual({ workers: [{ worker: leaving, metrics: [series('cpu_usage', [NOW - 60], { max: [12.5] })] }] });
    });

    test('concurrent unregister on both succeeds once', async () => {
      const worker = 'twice-box';
      expectOk(await callOn(1, 'workers.register', { worker, timeout: 600 }), 'B');

      const results = await Promise.all([
        callOn(0, 'workers.unregister', { worker }),
        callOn(1, 'workers.unregister', { worker }),
      ]);

      const outcomes = results.map((result) => `${result.status}/${result.meta.result_subcode}`).sort();
      expect(outcomes).toEqual(['200/0', '400/1004']);
      expect(await readBoth('workers.get_count', { worker_pattern: worker })).toEqual({ count: 0 });
    });
  },
);
