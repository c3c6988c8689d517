import type { Logger as QueryLogger } from 'drizzle-orm';
import { describe, expect, test } from 'vitest';

import { TEST_TARGETS } from '../helpers/database';

import {
  bodyOf,
  COMPANY,
  createProject,
  createQueue,
  createTask,
  errorEnvelope,
  expectOk,
  isoAt,
  keyOf,
  registerWorker,
  reportStatus,
  T,
  USER,
  useApiServer,
  type ApiFixture,
} from './fixtures';

/** Counts the statements the test server sends while `counting` is set. */
class StatementCounter implements QueryLogger {
  counting = false;
  statements: string[] = [];

  logQuery(query: string): void {
    if (this.counting) {
      this.statements.push(query);
    }
  }
}

async function onlyWorker(api: ApiFixture) {
  const result = await api.call('workers.get_all', { last_seen: 0 });
  expectOk(result);
  expect(result.data.workers).toHaveLength(1);

  return result.data.workers[0];
}

async function activityCounts(api: ApiFixture) {
  const result = await api.call('workers.get_activity_report', { from_date: T, to_date: T + 3600, interval: 3600 });
  expectOk(result);

  return { total: result.data.total.counts, active: result.data.active.counts };
}

describe.each(TEST_TARGETS)('workers with the catalog on %s', (target) => {
  const counter = new StatementCounter();
  const api = useApiServer(target, { queryLogger: counter });

  test('register with an unknown queue is 400/701 and stores nothing', async () => {
    const known = await createQueue(api, 'known');

    const result = await api.call('workers.register', { worker: 'w', queues: [known, 'nope'] });

    expect(bodyOf(result)).toEqual(
      errorEnvelope('workers.register', 400, 701, `Invalid queue id: id=nope, company=${COMPANY.id}`, { id: 'nope', company: COMPANY.id }, { actual: '2.22' }),
    );
    expect((await api.call('workers.get_all', {})).data).toEqual({ workers: [] });
  });

  test('register lists every unknown queue', async () => {
    const result = await api.call('workers.register', { worker: 'w', queues: ['a', 'b'] });

    expect(result.meta.result_msg).toBe(`Invalid queue id: id=(a, b), company=${COMPANY.id}`);
    expect(result.meta.error_data).toEqual({ id: ['a', 'b'], company: COMPANY.id });
  });

  test('status_report with an unknown task is 400/101 and stores nothing', async () => {
    const queue = await createQueue(api, 'q');
    await registerWorker(api, 'w', { queues: [queue], tags: ['before'] });
    api.clock.advance(10);

    const result = await api.call('workers.status_report', {
      worker: 'w',
      timestamp: T + 10,
      task: 'nope',
      queue,
      tags: ['after'],
      machine_stats: { cpu_usage: 50 },
    });

    expect(bodyOf(result)).toEqual(
      errorEnvelope('workers.status_report', 400, 101, `Invalid task id: id=nope, company=${COMPANY.id}`, { id: 'nope', company: COMPANY.id }, { actual: '2.22' }),
    );
    const entry = await onlyWorker(api);
    expect(entry.last_activity_time).toBe(isoAt(0));
    expect(entry.last_report_time).toBeUndefined();
    expect(entry.queue).toBeUndefined();
    expect(entry.tags).toEqual(['before']);
    expect(await activityCounts(api)).toEqual({ total: [0], active: [0] });
    expect((await api.call('workers.get_metric_keys', {})).meta.result_subcode).toBe(1005);
  });

  test('status_report with an unknown queue is 400/701 and stores nothing', async () => {
    await registerWorker(api, 'w');
    const task = await createTask(api, 't');

    const result = await api.call('workers.status_report', { worker: 'w', timestamp: T, task, queues: ['nope'] });

    expect(result.meta.result_subcode).toBe(701);
    expect((await onlyWorker(api)).task).toBeUndefined();
    expect(await activityCounts(api)).toEqual({ total: [0], active: [0] });
  });

  test('status_report of an unregistered worker is 1001 before the task check', async () => {
    const result = await api.call('workers.status_report', { worker: 'ghost', timestamp: T, task: 'nope' });

    expect(result.meta.result_subcode).toBe(1001);
  });

  test('get_all fills task, project and queues exactly', async () => {
    const project = await createProject(api, 'Vision');
    const gpu = await createQueue(api, 'gpu-queue', { display_name: 'GPU queue' });
    const cpu = await createQueue(api, 'cpu-queue');
    const running = await createTask(api, 'train resnet', { project });
    const waiting = await createTask(api, 'train yolo');
    const later = await createTask(api, 'evaluate');
    expectOk(await api.call('queues.add_task', { queue: gpu, task: running }));
    expectOk(await api.call('queues.add_task', { queue: gpu, task: waiting }));
    expectOk(await api.call('queues.add_task', { queue: gpu, task: later }));
    expectOk(await api.call('queues.get_next_task', { queue: gpu }));
    expectOk(await api.call('tasks.started', { task: running }));
    await registerWorker(api, 'gpu-box:gpu0', { queues: [gpu, cpu] });

    api.clock.advance(30_146.5);
    await reportStatus(api, 'gpu-box:gpu0', { task: running, queue: gpu });
    expectOk(await api.call('tasks.edit', { task: running, last_iteration: 4200 }));

    const result = await api.call('workers.get_all', {});

    const gpuRef = { id: gpu, name: 'gpu-queue', display_name: 'GPU queue', num_tasks: 2, next_task: { id: waiting, name: 'train yolo' } };
    const cpuRef = { id: cpu, name: 'cpu-queue', num_tasks: 0 };
    expect(result.data).toEqual({
      workers: [
        {
          id: 'gpu-box:gpu0',
          key: keyOf('gpu-box:gpu0'),
          user: { id: USER.id, name: 'admin' },
          company: { id: COMPANY.id, name: 'default' },
          ip: '127.0.0.1',
          register_time: isoAt(0),
          last_activity_time: isoAt(30_146.5),
          last_report_time: isoAt(30_146.5),
          // 8 h 22 min 26.5 s in progress.
          task: { id: running, name: 'train resnet', running_time: 30_146_500, last_iteration: 4200 },
          project: { id: project, name: 'Vision' },
          queue: gpuRef,
          queues: [gpuRef, cpuRef],
          tags: [],
          system_tags: [],
        },
      ],
    });
  });

  test('deleted task and queue leave the worker listed by id', async () => {
    const project = await createProject(api, 'Vision');
    const queue = await createQueue(api, 'q');
    const kept = await createQueue(api, 'kept');
    const task = await createTask(api, 't', { project });
    await registerWorker(api, 'w', { queues: [queue, kept] });
    await reportStatus(api, 'w', { task, queue });

    expectOk(await api.call('tasks.delete', { task }));
    expectOk(await api.call('queues.delete', { queue }));

    const entry = await onlyWorker(api);
    expect(entry.task).toEqual({ id: task });
    expect(entry.project).toEqual({ id: project, name: 'Vision' });
    expect(entry.queue).toEqual({ id: queue });
    expect(entry.queues).toEqual([{ id: queue }, { id: kept, name: 'kept', num_tasks: 0 }]);
  });

  test.each([1, 6])('get_all of %d workers sends one statement', async (count) => {
    const project = await createProject(api, 'p');
    for (let index = 0; index < count; index++) {
      const queue = await createQueue(api, `q${index}`);
      const task = await createTask(api, `t${index}`, { project });
      expectOk(await api.call('queues.add_task', { queue, task: await createTask(api, `next${index}`) }));
      await registerWorker(api, `w${index}`, { queues: [queue] });
      await reportStatus(api, `w${index}`, { task, queue });
    }

    counter.statements = [];
    counter.counting = true;
    const result = await api.call('workers.get_all', {});
    counter.counting = false;

    expectOk(result);
    expect(result.data.workers).toHaveLength(count);
    expect(result.data.workers.every((worker: { task: { name?: string } }) => worker.task.name !== undefined)).toBe(true);
    expect(counter.statements).toHaveLength(1);
  });
});
