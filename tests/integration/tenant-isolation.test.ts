import { beforeEach, describe, expect, test } from 'vitest';

import { basicAuthorization } from '@/agent/api-client';
import { createCredential, type NewCredential } from '@/lib/auth/credentials';

import type { ApiCallResult } from '../helpers/api';
import { TEST_TARGETS } from '../helpers/database';

import { COMPANY, expectOk, isoAt, LONG_TIMEOUT, T, USER, useApiServer } from './fixtures';

/**
 * Two companies whose daemons use the same worker ids, queue and task names, each calling
 * with its own credential: company `default` with the bootstrap pair, company `tenant-b`
 * with a pair made for the test. No response to one may contain the other's data, and
 * no request of one may change the other's data.
 */

const SHARED_WORKER = 'gpu-box-01:gpu0';
const B_ONLY_WORKER = 'gpu-box-02:gpu0';
const SHARED_QUEUE_NAME = 'default';
const SHARED_TASK_NAME = 'train resnet';

describe.each(TEST_TARGETS)('tenant isolation on %s', (target) => {
  const api = useApiServer(target);
  let tenantB: NewCredential;
  // Each company's queue and task of the same names; the service makes their ids.
  let queueA: string;
  let queueB: string;
  let taskA: string;
  let taskB: string;

  const asA = (endpoint: string, body: unknown = {}) => api.call(endpoint, body);
  const asB = (endpoint: string, body: unknown = {}) =>
    api.call(endpoint, body, { headers: { authorization: basicAuthorization(tenantB) } });

  /** Creates a catalog object as one company and returns its id. */
  async function createAs(as: typeof asA, endpoint: string, body: Record<string, unknown>): Promise<string> {
    const result = await as(endpoint, body);
    expectOk(result);

    return result.data.id as string;
  }

  /**
   * Creates a queue and a task of the same names in both companies, registers the
   * workers of both and sends one report each.
   */
  async function seedBothCompanies(): Promise<void> {
    queueA = await createAs(asA, 'queues.create', { name: SHARED_QUEUE_NAME });
    queueB = await createAs(asB, 'queues.create', { name: SHARED_QUEUE_NAME });
    taskA = await createAs(asA, 'tasks.create', { name: SHARED_TASK_NAME, type: 'training' });
    taskB = await createAs(asB, 'tasks.create', { name: SHARED_TASK_NAME, type: 'training' });

    const register = { worker: SHARED_WORKER, timeout: LONG_TIMEOUT };
    expectOk(await asA('workers.register', { ...register, queues: [queueA], tags: ['a-tag'] }));
    expectOk(await asB('workers.register', { ...register, queues: [queueB], tags: ['b-tag'] }));
    expectOk(await asB('workers.register', { ...register, queues: [queueB], worker: B_ONLY_WORKER, tags: ['b-tag'] }));

    expectOk(
      await asA('workers.status_report', { worker: SHARED_WORKER, timestamp: T, task: taskA, queue: queueA, machine_stats: { cpu_usage: 10 } }),
    );
    expectOk(
      await asB('workers.status_report', {
        worker: SHARED_WORKER,
        timestamp: T,
        task: taskB,
        queue: queueB,
        machine_stats: { cpu_usage: 70, gpu_usage: [90] },
      }),
    );
    expectOk(await asB('workers.status_report', { worker: B_ONLY_WORKER, timestamp: T, queue: queueB, machine_stats: { cpu_usage: 30 } }));
  }

  function workerSummaries(result: ApiCallResult) {
    expectOk(result);

    return (result.data.workers as { id: string; company: { name: string }; user: { name: string }; tags: string[] }[]).map(
      (worker) => [worker.id, worker.company.name, worker.user.name, worker.tags],
    );
  }

  beforeEach(async () => {
    tenantB = await createCredential(api.db, { companyName: 'tenant-b', userName: 'bob' });
  });

  test('get_all lists own workers only', async () => {
    await seedBothCompanies();

    expect(workerSummaries(await asA('workers.get_all', { last_seen: 0 }))).toEqual([[SHARED_WORKER, 'default', 'admin', ['a-tag']]]);
    expect(workerSummaries(await asB('workers.get_all', { last_seen: 0 }))).toEqual([
      [SHARED_WORKER, 'tenant-b', 'bob', ['b-tag']],
      [B_ONLY_WORKER, 'tenant-b', 'bob', ['b-tag']],
    ]);
  });

  test('get_all entry of the shared id is own', async () => {
    await seedBothCompanies();

    const [entry] = (await asA('workers.get_all', { last_seen: 0 })).data.workers;

    expect(entry).toEqual({
      id: SHARED_WORKER,
      key: `worker_${COMPANY.id}_${USER.id}_${SHARED_WORKER}`,
      user: { id: USER.id, name: USER.name },
      company: { id: COMPANY.id, name: COMPANY.name },
      ip: '127.0.0.1',
      register_time: isoAt(0),
      last_activity_time: isoAt(0),
      last_report_time: isoAt(0),
      task: { id: taskA, name: SHARED_TASK_NAME, running_time: 0, last_iteration: 0 },
      queue: { id: queueA, name: SHARED_QUEUE_NAME, num_tasks: 0 },
      queues: [{ id: queueA, name: SHARED_QUEUE_NAME, num_tasks: 0 }],
      tags: ['a-tag'],
      system_tags: [],
    });
  });

  test('get_all filters never reach the other company', async () => {
    await seedBothCompanies();

    const byTag = await asA('workers.get_all', { last_seen: 0, tags: ['b-tag'] });
    const byPattern = await asA('workers.get_all', { last_seen: 0, worker_pattern: 'gpu-box-02*' });

    expect(workerSummaries(byTag)).toEqual([]);
    expect(workerSummaries(byPattern)).toEqual([]);
  });

  test('get_count counts own workers only', async () => {
    await seedBothCompanies();

    const counts = await Promise.all([
      asA('workers.get_count'),
      asB('workers.get_count'),
      asA('workers.get_count', { tags: ['b-tag'] }),
      asB('workers.get_count', { worker_pattern: 'gpu-box-*' }),
    ]);

    expect(counts.map((result) => result.data)).toEqual([{ count: 1 }, { count: 2 }, { count: 0 }, { count: 2 }]);
  });

  test('get_metric_keys shows own metrics only', async () => {
    await seedBothCompanies();

    const keysA = await asA('workers.get_metric_keys', { worker_ids: [SHARED_WORKER] });
    const keysB = await asB('workers.get_metric_keys', { worker_ids: [SHARED_WORKER] });
    const unknownToA = await asA('workers.get_metric_keys', { worker_ids: [B_ONLY_WORKER] });

    expect(keysA.data).toEqual({ categories: [{ name: 'cpu', metric_keys: ['cpu_usage'] }] });
    expect(keysB.data).toEqual({
      categories: [
        { name: 'cpu', metric_keys: ['cpu_usage'] },
        { name: 'gpu', metric_keys: ['gpu_usage'] },
      ],
    });
    expect([unknownToA.status, unknownToA.meta.result_subcode]).toEqual([400, 1005]);
  });

  test('get_stats returns own samples only', async () => {
    await seedBothCompanies();
    const body = { from_date: T - 60, to_date: T + 60, interval: 60, items: [{ key: 'cpu_usage', aggregation: 'max' }] };

    const statsA = await asA('workers.get_stats', body);
    const statsB = await asB('workers.get_stats', { ...body, worker_ids: [SHARED_WORKER] });
    const gpuForA = await asA('workers.get_stats', { ...body, items: [{ key: 'gpu_usage', aggregation: 'max' }] });

    const series = (value: number) => [{ metric: 'cpu_usage', dates: [T], stats: [{ aggregation: 'max', dates: [T], values: [value] }] }];
    expect(statsA.data).toEqual({ workers: [{ worker: SHARED_WORKER, metrics: series(10) }] });
    expect(statsB.data).toEqual({ workers: [{ worker: SHARED_WORKER, metrics: series(70) }] });
    expect(gpuForA.data).toEqual({ workers: [] });
  });

  test('get_activity_report counts own reports only', async () => {
    await seedBothCompanies();
    const body = { from_date: T, to_date: T + 60, interval: 60 };

    const activityA = await asA('workers.get_activity_report', body);
    const activityB = await asB('workers.get_activity_report', body);

    expect(activityA.data).toEqual({ total: { dates: [T], counts: [1] }, active: { dates: [T], counts: [1] } });
    expect(activityB.data).toEqual({ total: { dates: [T], counts: [2] }, active: { dates: [T], counts: [1] } });
  });

  test('unregister removes own entry only', async () => {
    await seedBothCompanies();

    expectOk(await asA('workers.unregister', { worker: SHARED_WORKER }));
    const foreign = await asA('workers.unregister', { worker: B_ONLY_WORKER });

    expect([foreign.status, foreign.meta.result_subcode]).toEqual([400, 1004]);
    expect(workerSummaries(await asA('workers.get_all', { last_seen: 0 }))).toEqual([]);
    expect(workerSummaries(await asB('workers.get_all', { last_seen: 0 })).map(([id]) => id)).toEqual([SHARED_WORKER, B_ONLY_WORKER]);
  });

  test('status_report never touches the other company', async () => {
    await seedBothCompanies();
    api.clock.advance(30);

    const foreign = await asA('workers.status_report', { worker: B_ONLY_WORKER, timestamp: T + 30, machine_stats: { cpu_usage: 1 } });
    expectOk(await asA('workers.status_report', { worker: SHARED_WORKER, timestamp: T + 30, queue: queueA, machine_stats: { cpu_usage: 20 } }));

    expect([foreign.status, foreign.meta.result_subcode]).toEqual([400, 1001]);
    const entriesB = (await asB('workers.get_all', { last_seen: 0 })).data.workers as Record<string, unknown>[];
    expect(entriesB.map((entry) => [entry.id, entry.last_activity_time, entry.task, entry.queue])).toEqual([
      [SHARED_WORKER, isoAt(0), { id: taskB, name: SHARED_TASK_NAME, running_time: 0, last_iteration: 0 }, { id: queueB, name: SHARED_QUEUE_NAME, num_tasks: 0 }],
      [B_ONLY_WORKER, isoAt(0), undefined, { id: queueB, name: SHARED_QUEUE_NAME, num_tasks: 0 }],
    ]);
    const statsB = await asB('workers.get_stats', {
      from_date: T,
      to_date: T + 60,
      interval: 1,
      items: [{ key: 'cpu_usage', aggregation: 'max' }],
    });
    expect(statsB.data.workers.map((worker: { worker: string; metrics: { stats: { values: number[] }[] }[] }) => [worker.worker, worker.metrics[0].stats[0].values])).toEqual([
      [SHARED_WORKER, [70]],
      [B_ONLY_WORKER, [30]],
    ]);
  });

  test('catalog ids never cross companies', async () => {
    await seedBothCompanies();

    const foreignQueue = await asA('workers.register', { worker: 'gpu-box-09', timeout: LONG_TIMEOUT, queues: [queueB] });
    const foreignTask = await asA('workers.status_report', { worker: SHARED_WORKER, timestamp: T + 1, task: taskB });
    const taskLookup = await asA('tasks.get_by_id', { task: taskB });
    const queuesOfA = await asA('queues.get_all', { name: SHARED_QUEUE_NAME });
    const tasksOfB = await asB('tasks.get_all', {});

    expect([foreignQueue.status, foreignQueue.meta.result_subcode]).toEqual([400, 701]);
    expect([foreignTask.status, foreignTask.meta.result_subcode]).toEqual([400, 101]);
    expect([taskLookup.status, taskLookup.meta.result_subcode]).toEqual([400, 101]);
    expect(queuesOfA.data.queues.map((queue: { id: string }) => queue.id)).toEqual([queueA]);
    expect(tasksOfB.data.tasks.map((task: { id: string }) => task.id)).toEqual([taskB]);
  });

  test('tokens act for their own company', async () => {
    await seedBothCompanies();
    const login = await asB('auth.login');
    const token = login.data.token as string;

    const listed = await api.call('workers.get_all', { last_seen: 0 }, { headers: { authorization: `Bearer ${token}` } });

    expect(workerSummaries(listed).map(([id, company]) => [id, company])).toEqual([
      [SHARED_WORKER, 'tenant-b'],
      [B_ONLY_WORKER, 'tenant-b'],
    ]);
  });
});
