import { and, eq } from 'drizzle-orm';
import { describe, expect, test } from 'vitest';

import { insertReports, withReportPartitions } from '@/db/reports';
import { companies, users, workers } from '@/db/schema';
import { encodeSamples } from '@/lib/stats/layout';

import { TEST_TARGETS } from '../helpers/database';

import {
  COMPANY,
  countedWorkers,
  createTask,
  expectOk,
  isoAt,
  keyOf,
  listedIds,
  registerWorker,
  reportStatus,
  T,
  USER,
  useApiServer,
  type ApiFixture,
} from './fixtures';

// Every call here authenticates with the bootstrap pair, so it acts for the default
// company and user. Other tenants are seeded straight into the database to check that
// nothing of theirs leaks into the responses to the default company; the suite in
// tenant-isolation.test.ts does the same through the API with two companies' credentials.
const OTHER_COMPANY = { id: '0a1b2c3d4e5f40718293a4b5c6d7e8f9', name: 'other' };
const OTHER_COMPANY_USER = { id: '9f8e7d6c5b4a43219876fedcba012345', name: 'eve' };
const SECOND_USER = { id: '5e5e5e5e5e5e45e5a5e5e5e5e5e5e5e5', name: 'bob' };

/** Inserts a live worker entry for any company and user, as register would store it at START. */
async function insertWorker(api: ApiFixture, companyId: string, userId: string, workerId: string, tags: string[] = []): Promise<void> {
  const now = api.clock.now();
  await api.db.insert(workers).values({
    companyId,
    userId,
    workerId,
    ip: '10.0.0.9',
    registerTime: now,
    lastActivityTime: now,
    timeoutSeconds: 600,
    expiresAt: new Date(now.getTime() + 600_000),
    queues: ['their-queue'],
    tags,
    systemTags: [],
  });
}

/** Creates the other company with a worker `shared-id` and one named `theirs`, both with stats and a report. */
async function seedOtherCompany(api: ApiFixture): Promise<void> {
  await api.db.insert(companies).values(OTHER_COMPANY);
  await api.db.insert(users).values({ companyId: OTHER_COMPANY.id, id: OTHER_COMPANY_USER.id, name: OTHER_COMPANY_USER.name });

  for (const workerId of ['shared-id', 'theirs']) {
    await insertWorker(api, OTHER_COMPANY.id, OTHER_COMPANY_USER.id, workerId, ['gpu']);
    const time = api.clock.now();
    await withReportPartitions(api.db, [time], () =>
      api.db.transaction((transaction) =>
        insertReports(api.db, transaction, [
          { companyId: OTHER_COMPANY.id, workerId, time, taskId: 'their-task', samples: encodeSamples({ gpu_usage: [99] }) },
        ]),
      ),
    );
  }
}

/** Reads the other company's stored entry for `workerId` straight from the database. */
async function storedOtherEntry(api: ApiFixture, workerId: string) {
  const rows = await api.db
    .select({ ip: workers.ip, tags: workers.tags, lastActivityTime: workers.lastActivityTime })
    .from(workers)
    .where(and(eq(workers.companyId, OTHER_COMPANY.id), eq(workers.workerId, workerId)));

  return rows;
}

describe.each(TEST_TARGETS)('company scoping on %s', (target) => {
  const api = useApiServer(target);

  test('get_all and get_count see only the caller company', async () => {
    await seedOtherCompany(api);
    await registerWorker(api, 'mine');

    expect(await listedIds(api)).toEqual(['mine']);
    expect(await listedIds(api, { tags: ['gpu'] })).toEqual([]);
    expect(await listedIds(api, { worker_pattern: '*' })).toEqual(['mine']);
    expect(await countedWorkers(api)).toBe(1);
  });

  test('status_report for a worker of another company is 400/1001', async () => {
    await seedOtherCompany(api);
    api.clock.advance(5);

    const result = await api.call('workers.status_report', { worker: 'theirs', timestamp: api.clock.seconds() });

    expect(result.status).toBe(400);
    expect(result.meta.result_subcode).toBe(1001);
    expect(await storedOtherEntry(api, 'theirs')).toEqual([{ ip: '10.0.0.9', tags: ['gpu'], lastActivityTime: new Date(T * 1000) }]);
  });

  test('unregister of a worker of another company is 400/1004', async () => {
    await seedOtherCompany(api);

    const result = await api.call('workers.unregister', { worker: 'theirs' });

    expect(result.status).toBe(400);
    expect(result.meta.result_subcode).toBe(1004);
    expect(await storedOtherEntry(api, 'theirs')).toHaveLength(1);
  });

  test('register of an id used by another company leaves theirs alone', async () => {
    await seedOtherCompany(api);
    api.clock.advance(5);

    await registerWorker(api, 'shared-id', { tags: ['mine'] });
    expectOk(await api.call('workers.unregister', { worker: 'shared-id' }));

    expect(await storedOtherEntry(api, 'shared-id')).toEqual([{ ip: '10.0.0.9', tags: ['gpu'], lastActivityTime: new Date(T * 1000) }]);
    expect(await listedIds(api)).toEqual([]);
  });

  test('get_metric_keys ignores stats of another company', async () => {
    await seedOtherCompany(api);

    const all = await api.call('workers.get_metric_keys', {});
    const named = await api.call('workers.get_metric_keys', { worker_ids: ['shared-id', 'theirs'] });

    expect(all.meta.result_subcode).toBe(1005);
    expect(named.meta.result_subcode).toBe(1005);
  });

  test('get_stats ignores stats of another company', async () => {
    await seedOtherCompany(api);
    await registerWorker(api, 'shared-id');
    await reportStatus(api, 'shared-id', { machine_stats: { gpu_usage: [1] } });
    const body = { from_date: T - 60, to_date: T + 60, interval: 60, items: [{ key: 'gpu_usage', aggregation: 'max' }] };

    const all = await api.call('workers.get_stats', body);
    const theirs = await api.call('workers.get_stats', { ...body, worker_ids: ['theirs'] });

    expect(all.data).toEqual({
      workers: [
        {
          worker: 'shared-id',
          metrics: [{ metric: 'gpu_usage', dates: [T], stats: [{ aggregation: 'max', dates: [T], values: [1] }] }],
        },
      ],
    });
    expect(theirs.data).toEqual({ workers: [] });
  });

  test('get_activity_report ignores reports of another company', async () => {
    await seedOtherCompany(api);
    await registerWorker(api, 'mine');
    await reportStatus(api, 'mine');

    const result = await api.call('workers.get_activity_report', { from_date: T, to_date: T + 60, interval: 60 });

    expect(result.data).toEqual({ total: { dates: [T], counts: [1] }, active: { dates: [T], counts: [0] } });
  });
});

describe.each(TEST_TARGETS)('users of one company on %s', (target) => {
  const api = useApiServer(target);

  async function seedSecondUser(): Promise<void> {
    await api.db.insert(users).values({ companyId: COMPANY.id, id: SECOND_USER.id, name: SECOND_USER.name });
    await insertWorker(api, COMPANY.id, SECOND_USER.id, 'shared-id');
  }

  test('get_all lists the workers of every user', async () => {
    await seedSecondUser();
    api.clock.advance(10);
    await registerWorker(api, 'shared-id', { tags: ['mine'] });

    const result = await api.call('workers.get_all', {});

    expectOk(result);
    const entries = [...result.data.workers].sort((a: { user: { name: string } }, b: { user: { name: string } }) =>
      a.user.name.localeCompare(b.user.name),
    );
    expect(entries).toEqual([
      {
        id: 'shared-id',
        key: keyOf('shared-id'),
        user: { id: USER.id, name: 'admin' },
        company: { id: COMPANY.id, name: 'default' },
        ip: '127.0.0.1',
        register_time: isoAt(10),
        last_activity_time: isoAt(10),
        queues: [],
        tags: ['mine'],
        system_tags: [],
      },
      {
        id: 'shared-id',
        key: keyOf('shared-id', SECOND_USER.id),
        user: { id: SECOND_USER.id, name: 'bob' },
        company: { id: COMPANY.id, name: 'default' },
        ip: '10.0.0.9',
        register_time: isoAt(0),
        last_activity_time: isoAt(0),
        queues: [{ id: 'their-queue' }],
        tags: [],
        system_tags: [],
      },
    ]);
    expect(await countedWorkers(api)).toBe(2);
  });

  test('status_report and unregister touch only the caller entry', async () => {
    await seedSecondUser();
    await registerWorker(api, 'shared-id');
    api.clock.advance(30);

    const taskId = await createTask(api, 'task-1');
    await reportStatus(api, 'shared-id', { task: taskId });
    const afterReport = await api.call('workers.get_all', {});
    expectOk(await api.call('workers.unregister', { worker: 'shared-id' }));
    const afterUnregister = await api.call('workers.get_all', {});

    const byUser = Object.fromEntries(
      afterReport.data.workers.map((entry: { user: { id: string } }) => [entry.user.id, entry]),
    );
    expect(byUser[USER.id].task).toEqual({ id: taskId, name: 'task-1', running_time: 0, last_iteration: 0 });
    expect(byUser[USER.id].last_activity_time).toBe(isoAt(30));
    expect(byUser[SECOND_USER.id].task).toBeUndefined();
    expect(byUser[SECOND_USER.id].last_activity_time).toBe(isoAt(0));
    expect(afterUnregister.data.workers.map((entry: { key: string }) => entry.key)).toEqual([keyOf('shared-id', SECOND_USER.id)]);
  });
});
