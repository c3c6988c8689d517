import { beforeEach, describe, expect, test } from 'vitest';

import { TEST_TARGETS } from '../helpers/database';

import { bodyOf, createTask, errorEnvelope, expectOk, isoAt, registerWorker, reportStatus, T, useApiServer, type ApiFixture } from './fixtures';

/** Ids of the tasks the reports name, created before each test. */
const taskIds = { task1: '', task2: '' };

/** Sends a status report timestamped `T + offset` (seconds), with the clock at that time. */
async function reportAt(api: ApiFixture, worker: string, offset: number, fields: Record<string, unknown> = {}): Promise<void> {
  api.clock.set(isoAt(offset));
  await reportStatus(api, worker, fields);
}

/** Calls get_activity_report and checks the 200 and that both series share the dates. */
async function activity(api: ApiFixture, from: number, to: number, interval: number) {
  const result = await api.call('workers.get_activity_report', { from_date: from, to_date: to, interval });
  expectOk(result);
  expect(result.data.active.dates).toEqual(result.data.total.dates);

  return { dates: result.data.total.dates, total: result.data.total.counts, active: result.data.active.counts };
}

describe.each(TEST_TARGETS)('workers.get_activity_report on %s', (target) => {
  const api = useApiServer(target);

  beforeEach(async () => {
    taskIds.task1 = await createTask(api, 'task-1');
    taskIds.task2 = await createTask(api, 'task-2');
  });

  test('counts distinct workers and those running a task per bucket', async () => {
    await registerWorker(api, 'w1');
    await registerWorker(api, 'w2');
    await reportAt(api, 'w1', 1);
    await reportAt(api, 'w1', 2, { machine_stats: { cpu_usage: 5 } });
    await reportAt(api, 'w2', 30, { task: taskIds.task1 });
    await reportAt(api, 'w1', 61, { task: taskIds.task2 });
    await reportAt(api, 'w2', 185);
    api.clock.set(isoAt(1000));

    const result = await api.call('workers.get_activity_report', { from_date: T, to_date: T + 240, interval: 60 });

    expect(result.status).toBe(200);
    expect(result.data).toEqual({
      total: { dates: [T, T + 60, T + 120, T + 180], counts: [2, 1, 0, 1] },
      active: { dates: [T, T + 60, T + 120, T + 180], counts: [1, 1, 0, 0] },
    });
  });

  test('worker with and without a task in one bucket is active once', async () => {
    await registerWorker(api, 'w1');
    await reportAt(api, 'w1', 0, { task: taskIds.task1 });
    await reportAt(api, 'w1', 10);
    await reportAt(api, 'w1', 20, { task: taskIds.task2 });

    expect(await activity(api, T, T + 60, 60)).toEqual({ dates: [T], total: [1], active: [1] });
  });

  test('report timestamp decides the bucket, not its arrival', async () => {
    await registerWorker(api, 'w1');
    api.clock.set(isoAt(500));

    await reportStatus(api, 'w1', { timestamp: T + 70 });
    await reportStatus(api, 'w1', { timestamp: (T + 130) * 1000 });

    expect(await activity(api, T, T + 240, 60)).toEqual({
      dates: [T, T + 60, T + 120, T + 180],
      total: [0, 1, 1, 0],
      active: [0, 0, 0, 0],
    });
  });

  test('empty range has zero buckets', async () => {
    expect(await activity(api, T, T + 300, 100)).toEqual({ dates: [T, T + 100, T + 200], total: [0, 0, 0], active: [0, 0, 0] });
  });

  test.each([
    ['90% complete', T + 390, [T, T + 100, T + 200, T + 300]],
    ['89% complete', T + 389, [T, T + 100, T + 200]],
    ['0% complete', T + 300, [T, T + 100, T + 200]],
    ['complete at the next start', T + 400, [T, T + 100, T + 200, T + 300]],
  ])('last bucket %s', async (_label, to, dates) => {
    await registerWorker(api, 'w1');
    await reportAt(api, 'w1', 300);

    const result = await activity(api, T, to, 100);

    expect(result.dates).toEqual(dates);
    expect(result.total).toEqual(dates.map((date) => (date === T + 300 ? 1 : 0)));
  });

  test('dates start at the bucket of from_date', async () => {
    await registerWorker(api, 'w1');
    await reportAt(api, 'w1', 70);

    expect(await activity(api, T + 30, T + 190, 60)).toEqual({ dates: [T, T + 60, T + 120], total: [0, 1, 0], active: [0, 0, 0] });
  });

  test('reports before from_date are not counted in the first bucket', async () => {
    await registerWorker(api, 'early');
    await registerWorker(api, 'late');
    await reportAt(api, 'early', 10);
    await reportAt(api, 'late', 40);

    expect(await activity(api, T + 30, T + 130, 60)).toEqual({ dates: [T, T + 60], total: [1, 0], active: [0, 0] });
  });

  test.each([1, 10, 39])('interval %d is raised to 40', async (interval) => {
    await registerWorker(api, 'w1');
    await registerWorker(api, 'w2');
    await reportAt(api, 'w1', 5);
    await reportAt(api, 'w2', 15);
    await reportAt(api, 'w1', 45);

    expect(await activity(api, T, T + 120, interval)).toEqual({
      dates: [T, T + 40, T + 80],
      total: [2, 1, 0],
      active: [0, 0, 0],
    });
  });

  test('interval of 40 is kept', async () => {
    expect((await activity(api, T, T + 80, 40)).dates).toEqual([T, T + 40]);
  });

  test('rejected reports are not counted', async () => {
    await registerWorker(api, 'w1');
    api.clock.set(isoAt(10));

    const future = await api.call('workers.status_report', { worker: 'w1', timestamp: T + 10 + 2 * 86_400, task: taskIds.task1 });
    const badStats = await api.call('workers.status_report', { worker: 'w1', timestamp: T + 10, task: taskIds.task1, machine_stats: { cpu_usage: 'high' } });
    const unknown = await api.call('workers.status_report', { worker: 'ghost', timestamp: T + 10, task: taskIds.task1 });

    expect([future.status, badStats.status, unknown.status]).toEqual([400, 400, 400]);
    expect(await activity(api, T, T + 60, 60)).toEqual({ dates: [T], total: [0], active: [0] });
  });

  test('reports of unregistered and expired workers are counted', async () => {
    await registerWorker(api, 'gone');
    await registerWorker(api, 'expired', { timeout: 30 });
    await reportAt(api, 'gone', 0, { task: taskIds.task1 });
    await reportAt(api, 'expired', 0);
    expectOk(await api.call('workers.unregister', { worker: 'gone' }));
    api.clock.set(isoAt(600));

    expect(await activity(api, T, T + 60, 60)).toEqual({ dates: [T], total: [2], active: [1] });
  });

  test.each([
    ['equal', T, T],
    ['reversed', T + 60, T],
  ])('from_date and to_date %s is 400/16', async (_label, from, to) => {
    const result = await api.call('workers.get_activity_report', { from_date: from, to_date: to, interval: 60 });

    expect(bodyOf(result)).toEqual(
      errorEnvelope(
        'workers.get_activity_report',
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
    ['interval 2.5', { interval: 2.5 }, 'interval', 2.5],
    ['negative from_date', { from_date: -60 }, 'from_date', -60],
    ['string to_date', { to_date: 'later' }, 'to_date', 'later'],
  ])('%s is 400/12', async (_label, change, field, value) => {
    const result = await api.call('workers.get_activity_report', { from_date: T, to_date: T + 60, interval: 60, ...change });

    expect(result.status).toBe(400);
    expect(result.meta.result_subcode).toBe(12);
    expect(result.meta.error_data).toEqual({ field, value });
  });

  // A date beyond what a timestamp can hold is out of range: a 400/12 naming the field,
  // not a server fault.
  test('to_date beyond the timestamp range is 400/12', async () => {
    const result = await api.call('workers.get_activity_report', { from_date: 0, to_date: 1e15, interval: 1e12 });

    expect(result.status).toBe(400);
    expect(result.meta.result_subcode).toBe(12);
    expect(result.meta.error_data).toMatchObject({ field: 'to_date' });
  });
});
