import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { openDatabase, type DatabaseHandle } from '@/db/client';
import type { CallContext } from '@/lib/api/endpoint';
import { DEFAULT_COMPANY, DEFAULT_USER } from '@/lib/identity';
import { logger } from '@/lib/log';
import { getActivityReportRequestSchema, getStatsRequestSchema } from '@/lib/schemas/workers';
import { getActivityReport, getStats } from '@/lib/stats/service';

import { callApi, type ApiCallResult } from '../helpers/api';
import { testDatabasePrefix } from '../helpers/database';
import { allListening, createSharedDatabase, readFromEach, startInstance, type Instance, type SharedDatabase } from './instances';

// Two API server processes share one PostgreSQL database and both run the background
// jobs, refreshing the rollups every second, while reports arrive through both. The
// refresh lock must let one instance at a time aggregate each report, so the rollups
// count every report exactly once and reads from either instance equal raw reads.

const ADMIN_URL = process.env.TEST_DATABASE_URL;

const INSTANCE_NAMES = ['A', 'B'];
const WORKERS = 8;
const REPORTS_PER_WORKER = 12;
const TOTAL_REPORTS = WORKERS * REPORTS_PER_WORKER;
/** Seconds between two reports of one worker; 12 reports span 1,650 s of one hour. */
const REPORT_SPACING = 150;
/** Milliseconds between two waves of reports, so that refreshes run between the waves. */
const WAVE_PAUSE_MS = 250;
/** Milliseconds the rollups get to catch up with the last reports. */
const CATCH_UP_TIMEOUT_MS = 30_000;
const REFRESH_SECONDS = '1';

/**
 * Start of the previous whole hour in seconds since the epoch: the reports lie in the
 * past, and get_stats at interval 3600 reads their hour from the hourly rollup.
 */
const HOUR = Math.floor(Date.now() / 3_600_000) * 3600 - 3600;

function workerId(worker: number): string {
  return `jobs-box-${String(worker).padStart(2, '0')}:gpu0`;
}

/** Seconds since the epoch of report `k` of `worker`: workers are 7 s apart within a wave. */
function reportTimestamp(worker: number, k: number): number {
  return HOUR + k * REPORT_SPACING + worker * 7;
}

/** The id of each worker's task, created through tasks.create before the reports. */
const taskIds: string[] = [];

/** Report `k` of `worker` names the worker's task when (worker + k) is a multiple of 3. */
function reportTask(worker: number, k: number): string | undefined {
  return (worker + k) % 3 === 0 ? (taskIds[worker] ?? `missing-task-${worker}`) : undefined;
}

/** Builds the body of report `k` of `worker`; every value is exact in float4. */
function reportBody(worker: number, k: number): Record<string, unknown> {
  const task = reportTask(worker, k);

  return {
    worker: workerId(worker),
    timestamp: reportTimestamp(worker, k),
    ...(task === undefined ? {} : { task }),
    machine_stats: {
      cpu_usage: [worker + k * 0.5, 10 + worker + k * 0.25],
      gpu_usage: [50 + worker + k],
      memory_used: 1000 * worker + k,
    },
  };
}

/** Counts the reports of `worker` that name a task. */
function taskReportsOf(worker: number): number {
  return Array.from({ length: REPORTS_PER_WORKER }, (_, k) => reportTask(worker, k)).filter((task) => task !== undefined).length;
}

interface RefreshLine {
  instance: string;
  ran: boolean;
  reports: number;
  previousWatermark: string;
  watermark: string;
}

/** Returns the rollup refresh results that an instance logged at debug level. */
function refreshLines(instance: Instance): RefreshLine[] {
  return instance.logs
    .filter((line) => line.msg === 'job finished' && line.job === 'rollup_refresh')
    .map((line) => {
      const result = line.result as { ran: boolean; reports: number; previousWatermark: string; watermark: string };

      return { instance: instance.name, ...result };
    });
}

describe.skipIf(!ADMIN_URL)(
  `background jobs on two instances${ADMIN_URL ? '' : ' (skipped: TEST_DATABASE_URL is not set to a PostgreSQL admin URL)'}`,
  () => {
    const databaseName = `${testDatabasePrefix()}background_jobs_${process.pid}`;
    let shared: SharedDatabase | undefined;
    let database: postgres.Sql | undefined;
    let handle: DatabaseHandle | undefined;
    let instances: Instance[] = [];
    let urls: string[] = [];
    const reportResults: { instance: string; result: ApiCallResult }[] = [];

    /** Sends the same call to both instances at once, checks that both return 200 with equal data, and returns the data. */
    const readBoth = (endpoint: string, body: Record<string, unknown>): Promise<unknown> =>
      readFromEach(urls, INSTANCE_NAMES, endpoint, body);

    /** Builds the context of an in-process call on the shared database, for reads from raw reports. */
    const rawContext = (): CallContext => {
      if (!handle) {
        throw new Error('the database handle is not open: beforeAll failed');
      }

      return {
        db: handle.db,
        companyId: DEFAULT_COMPANY.id,
        userId: DEFAULT_USER.id,
        now: new Date(),
        clientIp: '127.0.0.1',
        requestId: 'background-jobs-test',
        log: logger,
      };
    };

    beforeAll(async () => {
      if (!ADMIN_URL) {
        return;
      }

      const created = await createSharedDatabase(ADMIN_URL, databaseName);
      shared = created;
      // Debug level logs every finished job with its result.
      const options = {
        backgroundJobs: true,
        env: { WORKERS_REFRESH_SECONDS: REFRESH_SECONDS, LOG_LEVEL: 'debug' },
      };
      instances = INSTANCE_NAMES.map((name) => startInstance(name, created.url, options));
      urls = await allListening(instances);
      database = postgres(created.url, { max: 1, onnotice: () => {} });
      handle = await openDatabase({ kind: 'postgres', url: created.url, maxConnections: 2 });

      // Half the workers register on each instance. Each wave sends one report per
      // worker at once, alternating the instance, while both refresh in the background.
      for (let worker = 0; worker < WORKERS; worker++) {
        const task = await callApi(urls[worker % 2], 'tasks.create', { name: `train ${worker}`, type: 'training' });
        if (task.status !== 200) {
          throw new Error(`tasks.create for ${workerId(worker)} failed: ${task.meta.result_msg}`);
        }
        taskIds[worker] = task.data.id as string;
        const registered = await callApi(urls[worker % 2], 'workers.register', { worker: workerId(worker), timeout: 3600 });
        if (registered.status !== 200) {
          throw new Error(`register of ${workerId(worker)} failed: ${registered.meta.result_msg}`);
        }
      }
      for (let k = 0; k < REPORTS_PER_WORKER; k++) {
        const wave = await Promise.all(
          Array.from({ length: WORKERS }, async (_, worker) => {
            const index = (worker + k) % 2;
            const result = await callApi(urls[index], 'workers.status_report', reportBody(worker, k));

            return { instance: INSTANCE_NAMES[index], result };
          }),
        );
        reportResults.push(...wave);
        await new Promise((resolve) => setTimeout(resolve, WAVE_PAUSE_MS));
      }

      // The rollups catch up when no report is left above the refresh watermark.
      const deadline = Date.now() + CATCH_UP_TIMEOUT_MS;
      for (;;) {
        const [tail] = await database<{ reports: number }[]>`
          SELECT count(*)::int AS reports FROM reports
          WHERE xid >= (SELECT watermark FROM rollup_state WHERE name = 'rollups')`;
        if (tail.reports === 0) {
          break;
        }
        if (Date.now() > deadline) {
          throw new Error(`${tail.reports} reports still above the refresh watermark after ${CATCH_UP_TIMEOUT_MS} ms`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }, 90_000);

    afterAll(async () => {
      await Promise.all(instances.map((instance) => instance.stop()));
      await handle?.close();
      await database?.end();
      await shared?.drop();
    });

    test('both instances serve while refreshing', async () => {
      const failed = reportResults
        .filter(({ result }) => result.status !== 200)
        .map(({ instance, result }) => `${instance}: ${result.status} ${result.meta.result_msg}`);
      expect(failed).toEqual([]);
      expect(reportResults.length).toBe(TOTAL_REPORTS);
      expect(reportResults.filter(({ instance }) => instance === 'A').length).toBe(TOTAL_REPORTS / 2);

      expect(await readBoth('workers.get_count', {})).toEqual({ count: WORKERS });

      const jobErrors = instances.flatMap((instance) =>
        instance.logs
          .filter((line) => typeof line.level === 'number' && line.level >= 40)
          .map((line) => `${instance.name}: ${String(line.msg)}: ${String((line.err as { message?: unknown } | undefined)?.message ?? '')}`),
      );
      expect(jobErrors).toEqual([]);
    });

    test('rollups count every report once', async () => {
      if (!database) {
        throw new Error('the database connection is not open: beforeAll failed');
      }

      const expected = Array.from({ length: WORKERS }, (_, worker) => ({
        worker_id: workerId(worker),
        reports: REPORTS_PER_WORKER,
        task_reports: taskReportsOf(worker),
      }));
      const raw = await database`
        SELECT worker_id, count(*)::int AS reports, count(task_id)::int AS task_reports
        FROM reports GROUP BY worker_id ORDER BY worker_id`;
      expect([...raw]).toEqual(expected);

      for (const table of ['rollups_minute', 'rollups_five_minutes', 'rollups_hour']) {
        const rolledUp = await database.unsafe(
          `SELECT worker_id, sum(reports)::int AS reports, sum(task_reports)::int AS task_reports
           FROM ${table} GROUP BY worker_id ORDER BY worker_id`,
        );
        expect([...rolledUp], table).toEqual(expected);
      }
    });

    test('refreshes never overlap', () => {
      const lines = instances.flatMap(refreshLines);
      for (const name of INSTANCE_NAMES) {
        expect(
          lines.filter((line) => line.instance === name && line.ran).length,
          `instance ${name} ran no refresh`,
        ).toBeGreaterThan(0);
      }

      // Each refresh that aggregated reports covered the transactions from its previous
      // watermark to its new one. Refreshes one at a time make those ranges a chain: each
      // starts where the one before ended, and no two start at the same watermark.
      const advancing = lines
        .filter((line) => line.ran && line.watermark !== line.previousWatermark)
        .sort((a, b) => (BigInt(a.previousWatermark) < BigInt(b.previousWatermark) ? -1 : 1));
      const gaps = advancing.flatMap((line, index) =>
        index > 0 && line.previousWatermark !== advancing[index - 1].watermark
          ? [`${line.instance} started at ${line.previousWatermark} after a refresh ending at ${advancing[index - 1].watermark}`]
          : [],
      );
      expect(gaps).toEqual([]);
      expect(advancing.reduce((total, line) => total + line.reports, 0)).toBe(TOTAL_REPORTS);
    });

    test('get_stats equal on both and raw', async () => {
      const requests = [
        { interval: 60, split_by_variant: false },
        { interval: 300, split_by_variant: true },
        { interval: 3600, split_by_variant: false },
      ].map((shape) => ({
        from_date: HOUR,
        to_date: HOUR + 3600,
        items: [
          { key: 'cpu_usage', aggregation: 'avg' },
          { key: 'cpu_usage', aggregation: 'min' },
          { key: 'cpu_usage', aggregation: 'max' },
          { key: 'gpu_usage', aggregation: 'max' },
          { key: 'memory_used', aggregation: 'avg' },
        ],
        ...shape,
      }));

      for (const request of requests) {
        const served = (await readBoth('workers.get_stats', request)) as { workers: { worker: string }[] };
        expect(served.workers.map((entry) => entry.worker)).toEqual(Array.from({ length: WORKERS }, (_, worker) => workerId(worker)));

        const raw = await getStats(rawContext(), getStatsRequestSchema.parse(request), 'raw');
        expect(served, `get_stats ${JSON.stringify(request)} differs from raw`).toEqual(raw);
      }

      // Worker 0 over the hour: memory_used 0 to 11 MB, gpu_usage 50 to 61 percent.
      const hourly = (await readBoth('workers.get_stats', {
        worker_ids: [workerId(0)],
        from_date: HOUR,
        to_date: HOUR + 3600,
        interval: 3600,
        items: [
          { key: 'memory_used', aggregation: 'avg' },
          { key: 'gpu_usage', aggregation: 'max' },
        ],
      })) as { workers: unknown[] };
      expect(hourly.workers).toEqual([
        {
          worker: workerId(0),
          metrics: [
            { metric: 'memory_used', dates: [HOUR], stats: [{ aggregation: 'avg', dates: [HOUR], values: [5.5] }] },
            { metric: 'gpu_usage', dates: [HOUR], stats: [{ aggregation: 'max', dates: [HOUR], values: [61] }] },
          ],
        },
      ]);

      const activity = { from_date: HOUR, to_date: HOUR + 3600, interval: 300 };
      const served = await readBoth('workers.get_activity_report', activity);
      expect(served).toEqual(await getActivityReport(rawContext(), getActivityReportRequestSchema.parse(activity), 'raw'));
    });
  },
);
