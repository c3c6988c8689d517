import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { queryRows } from '@/db/client';
import { ensurePartitions } from '@/db/partitions';
import { refreshRollups } from '@/db/rollups';
import { DEFAULT_COMPANY } from '@/lib/identity';
import { applyRetention, jobSettingsFromEnv } from '@/lib/stats/jobs';

import { callApi } from '../helpers/api';
import { startTestServer, type TestServer } from '../helpers/server';

import { expectOk } from './fixtures';

const DAY = 86_400;

// Both cases need sessions of their own beside the service's pool, so they run on the
// PostgreSQL server only.
describe.runIf(process.env.TEST_DATABASE_URL)('rollup refresh on postgres', () => {
  let server: TestServer;
  /** Sessions on the test database. */
  let sessions: postgres.Sql;
  /** A session on the server's admin database: another database of the same cluster. */
  let otherDatabase: postgres.Sql;

  beforeAll(async () => {
    server = await startTestServer({ target: 'postgres' });
    const [row] = await queryRows<{ name: string }>(server.database.db, sql`SELECT current_database() AS name`);
    const url = new URL(process.env.TEST_DATABASE_URL ?? '');
    url.pathname = `/${row.name}`;
    sessions = postgres(url.toString(), { max: 2, onnotice: () => {} });
    otherDatabase = postgres(process.env.TEST_DATABASE_URL ?? '', { max: 1, onnotice: () => {} });
  });

  afterAll(async () => {
    await otherDatabase?.end();
    await sessions?.end();
    await server?.close();
  });

  // The refresh first lists the days of the new reports and creates their rollup
  // partitions, then aggregates in a later snapshot. A report on another new day that
  // commits in between is aggregated as well, but its rollup partition does not exist, so
  // the whole refresh fails with "no partition of relation rollups_minute found for row".
  // The service hit this on three refreshes in a row while reports on many past days
  // arrived. Locks make the interleaving certain here.
  // NOTE: the refresh aggregates only below the oldest transaction running on the whole
  // server, so a long transaction elsewhere on it makes this case pass without exercising it.
  test('report committed during a refresh on a new day', { timeout: 60_000 }, async () => {
    const db = server.database.db;
    const now = Date.now() / 1000;
    const firstDay = new Date((now - 2 * DAY) * 1000);
    const secondDay = new Date((now - 3 * DAY) * 1000);
    expectOk(await callApi(server.url, 'workers.register', { worker: 'race', timeout: 3600 }));
    expectOk(await callApi(server.url, 'workers.status_report', { worker: 'race', timestamp: firstDay.getTime() / 1000, machine_stats: { cpu_usage: 1 } }));
    await ensurePartitions(db, 'reports', [secondDay]);

    // A report on the second day, inserted but not yet committed, as a slow status_report is.
    const reportSession = await sessions.reserve();
    const lockSession = await sessions.reserve();
    try {
      await reportSession`BEGIN`;
      await reportSession`INSERT INTO reports (company_id, worker_id, time, task_id, layout_id, "values")
                          VALUES (${DEFAULT_COMPANY.id}, 'race', ${secondDay}, NULL, 0, '{}')`;
      // Holds back the refresh while it creates the first day's rollup partitions.
      await lockSession`BEGIN`;
      await lockSession`LOCK TABLE rollups_minute IN SHARE UPDATE EXCLUSIVE MODE`;

      const refresh = refreshRollups(db).then(
        () => 'ok',
        (error: unknown) => String((error as Error).cause ?? error),
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      await reportSession`COMMIT`;
      await lockSession`COMMIT`;

      expect(await refresh).toBe('ok');
    } finally {
      reportSession.release();
      lockSession.release();
    }
  });

  // The refresh watermark is the oldest transaction running on the whole PostgreSQL
  // server. One transaction that has written and stays open in any database of it (a
  // psql session, a batch job of another application) stops the rollups for every
  // database. Retention then drops raw reports by age whether or not they were rolled
  // up, and their stats are lost for good.
  test('stats survive retention while another database has an open transaction', { timeout: 60_000 }, async () => {
    const db = server.database.db;
    const reportTime = Math.floor(Date.now() / 1000 / 60) * 60 - 3 * DAY + 30;
    expectOk(await callApi(server.url, 'workers.register', { worker: 'kept', timeout: 3600 }));

    const open = await otherDatabase.reserve();
    try {
      await open`BEGIN`;
      await open`SELECT pg_current_xact_id()`;

      expectOk(await callApi(server.url, 'workers.status_report', { worker: 'kept', timestamp: reportTime, machine_stats: { cpu_usage: 42 } }));
      await refreshRollups(db);
      // Raw reports are kept one day here, per-minute rollups the default 30 days.
      await applyRetention(db, new Date(), { ...jobSettingsFromEnv({}), WORKERS_RETENTION_RAW_DAYS: 1 });
    } finally {
      await open`ROLLBACK`;
      open.release();
    }
    await refreshRollups(db);

    const result = await callApi(server.url, 'workers.get_stats', {
      worker_ids: ['kept'],
      from_date: reportTime - 30,
      to_date: reportTime + 30,
      interval: 60,
      items: [{ key: 'cpu_usage', aggregation: 'max' }],
    });
    expectOk(result);
    expect(result.data.workers).toEqual([
      {
        worker: 'kept',
        metrics: [{ metric: 'cpu_usage', dates: [reportTime - 30], stats: [{ aggregation: 'max', dates: [reportTime - 30], values: [42] }] }],
      },
    ]);
  });
});
