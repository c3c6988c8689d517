import { describe, expect, test } from 'vitest';

import { queues } from '@/db/schema';

import { sendApiRequest } from '../helpers/api';
import { TEST_TARGETS } from '../helpers/database';

import {
  bodyOf,
  COMPANY,
  createQueue,
  createTask,
  errorEnvelope,
  expectOk,
  isoAt,
  START,
  USER,
  useApiServer,
  type ApiFixture,
} from './fixtures';

const ID = /^[0-9a-f]{32}$/;

const OTHER_COMPANY_ID = 'a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0';
const THEIR_QUEUE = 'b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1';

/** The queue names get_all returns for `body`, in its order, after checking the 200. */
async function listedQueueNames(api: ApiFixture, body: Record<string, unknown>): Promise<string[]> {
  const result = await api.call('queues.get_all', body);
  expectOk(result);

  return (result.data.queues as { name: string }[]).map((queue) => queue.name);
}

async function queueById(api: ApiFixture, queue: string) {
  const result = await api.call('queues.get_by_id', { queue });
  expectOk(result);

  return result.data.queue;
}

async function taskStatus(api: ApiFixture, task: string): Promise<string> {
  const result = await api.call('tasks.get_by_id', { task });
  expectOk(result);

  return result.data.task.status;
}

describe.each(TEST_TARGETS)('queues endpoints on %s', (target) => {
  const api = useApiServer(target);

  describe('queues.create and queues.get_by_id', () => {
    test('queue fields are exact', async () => {
      const created = await api.call('queues.create', {
        name: 'gpu-queue',
        display_name: 'GPU queue',
        tags: ['gpu'],
        system_tags: ['default'],
        metadata: { owner: { key: 'owner', type: 'str', value: 'ml-team' } },
      });

      expectOk(created);
      expect(created.data).toEqual({ id: expect.stringMatching(ID) });
      expect(await queueById(api, created.data.id)).toEqual({
        id: created.data.id,
        name: 'gpu-queue',
        display_name: 'GPU queue',
        user: USER.id,
        company: COMPANY.id,
        created: START,
        last_update: START,
        tags: ['gpu'],
        system_tags: ['default'],
        entries: [],
        metadata: { owner: { key: 'owner', type: 'str', value: 'ml-team' } },
      });
    });

    test('minimal queue has empty arrays and metadata', async () => {
      const id = await createQueue(api, 'plain');

      expect(await queueById(api, id)).toEqual({
        id,
        name: 'plain',
        user: USER.id,
        company: COMPANY.id,
        created: START,
        last_update: START,
        tags: [],
        system_tags: [],
        entries: [],
        metadata: {},
      });
    });

    test('names may repeat', async () => {
      const first = await createQueue(api, 'same');
      const second = await createQueue(api, 'same');

      expect(first).not.toBe(second);
      expect(await listedQueueNames(api, {})).toEqual(['same', 'same']);
    });

    test('missing name is 400/11', async () => {
      const result = await api.call('queues.create', { tags: ['x'] });

      expect(bodyOf(result)).toEqual(errorEnvelope('queues.create', 400, 11, 'Missing required fields: name', { fields: ['name'] }));
      expect(await listedQueueNames(api, {})).toEqual([]);
    });

    test('empty name is 400/12', async () => {
      const result = await api.call('queues.create', { name: '' });

      expect(bodyOf(result)).toEqual(
        errorEnvelope('queues.create', 400, 12, `Validation error: invalid value "" for field 'name': must be a non-empty string`, {
          field: 'name',
          value: '',
        }),
      );
    });

    test('unknown queue is 400/701', async () => {
      const result = await api.call('queues.get_by_id', { queue: 'no-such-queue' });

      expect(bodyOf(result)).toEqual(
        errorEnvelope('queues.get_by_id', 400, 701, `Invalid queue id: id=no-such-queue, company=${COMPANY.id}`, {
          id: 'no-such-queue',
          company: COMPANY.id,
        }),
      );
    });

    test('queue of another company is invisible', async () => {
      // Stored straight in the database: no call of the default company may reach it.
      await api.db.insert(queues).values({
        companyId: OTHER_COMPANY_ID,
        id: THEIR_QUEUE,
        name: 'their-queue',
        userId: 'their-user',
        created: new Date(START),
        lastUpdate: new Date(START),
      });

      const byId = await api.call('queues.get_by_id', { queue: THEIR_QUEUE });
      const register = await api.call('workers.register', { worker: 'w', queues: [THEIR_QUEUE] });
      const deleted = await api.call('queues.delete', { queue: THEIR_QUEUE });

      expect(await listedQueueNames(api, {})).toEqual([]);
      expect([byId.meta.result_subcode, register.meta.result_subcode, deleted.meta.result_subcode]).toEqual([701, 701, 701]);
      expect((await api.db.select().from(queues)).map((row) => row.id)).toEqual([THEIR_QUEUE]);
    });
  });

  describe('queues.get_all', () => {
    const names = ['gpu-queue', 'GPU-QUEUE-2', 'cpu', 'my queue', 'cpu.batch', 'cpuXbatch', 'services'];

    test.each([
      [{}, names],
      [{ name: 'gpu\\-queue' }, ['gpu-queue', 'GPU-QUEUE-2']],
      [{ name: '^gpu\\-queue$' }, ['gpu-queue']],
      [{ name: 'GPU' }, ['gpu-queue', 'GPU-QUEUE-2']],
      [{ name: 'my\\ queue' }, ['my queue']],
      [{ name: 'cpu\\.batch' }, ['cpu.batch']],
      [{ name: 'cpu.batch' }, ['cpu.batch', 'cpuXbatch']],
      [{ name: '\\bcpu\\b' }, ['cpu', 'cpu.batch']],
      [{ name: '(?P<kind>cpu)X' }, ['cpuXbatch']],
      [{ name: '^(gpu|cpu)$' }, ['cpu']],
      [{ name: '' }, names],
      [{ name: 'nothing' }, []],
    ])('name filter %j', async (filter, expected) => {
      for (const name of names) {
        await createQueue(api, name);
        api.clock.advance(1);
      }

      expect(await listedQueueNames(api, filter)).toEqual(expected);
    });

    test.each([['('], ['[a-'], ['(?P=kind)'], ['a{2,1}']])('invalid pattern %j is 400/12', async (pattern) => {
      await createQueue(api, 'gpu-queue');

      const result = await api.call('queues.get_all', { name: pattern });

      expect(result.status).toBe(400);
      expect(result.meta.result_subcode).toBe(12);
      expect(result.meta.result_msg).toMatch(
        new RegExp(`^Validation error: invalid value ${JSON.stringify(pattern).replace(/[()[\]{}?*+\\.^$|]/g, '\\$&')} for field 'name': invalid regular expression \\(.+\\)$`),
      );
      expect(result.meta.error_data).toEqual({ field: 'name', value: pattern });
    });

    test('id, tags and system_tags filter', async () => {
      const a = await createQueue(api, 'a', { tags: ['gpu', 'fast'], system_tags: ['default'] });
      api.clock.advance(1);
      const b = await createQueue(api, 'b', { tags: ['cpu'] });
      api.clock.advance(1);
      await createQueue(api, 'c', { tags: ['gpu'], system_tags: ['hidden'] });

      expect(await listedQueueNames(api, { id: [a, b] })).toEqual(['a', 'b']);
      expect(await listedQueueNames(api, { id: [] })).toEqual(['a', 'b', 'c']);
      expect(await listedQueueNames(api, { tags: ['gpu'] })).toEqual(['a', 'c']);
      expect(await listedQueueNames(api, { tags: ['-gpu'] })).toEqual(['b']);
      expect(await listedQueueNames(api, { tags: ['gpu', '-fast'] })).toEqual(['c']);
      expect(await listedQueueNames(api, { system_tags: ['-hidden'] })).toEqual(['a', 'b']);
      expect(await listedQueueNames(api, { tags: ['gpu'], system_tags: ['default'] })).toEqual(['a']);
    });

    test('only_fields returns those fields and the id', async () => {
      const id = await createQueue(api, 'gpu-queue', { tags: ['gpu'] });
      const task = await createTask(api, 'train');
      expectOk(await api.call('queues.add_task', { queue: id, task }));

      const cases: [string[], Record<string, unknown>][] = [
        [['id', 'tags'], { id, tags: ['gpu'] }],
        [['name'], { id, name: 'gpu-queue' }],
        [['entries.task'], { id, entries: [{ task }] }],
        [['metadata', 'no_such_field'], { id, metadata: {} }],
      ];
      for (const [fields, expected] of cases) {
        const result = await api.call('queues.get_all', { only_fields: fields });
        expect(result.data, fields.join(',')).toEqual({ queues: [expected] });
      }
    });

    test('max_task_entries limits the entries returned', async () => {
      const id = await createQueue(api, 'q');
      const tasks = [await createTask(api, 't1'), await createTask(api, 't2'), await createTask(api, 't3')];
      for (const task of tasks) {
        expectOk(await api.call('queues.add_task', { queue: id, task }));
      }

      const listed = await api.call('queues.get_all', { max_task_entries: 2 });
      const byId = await api.call('queues.get_by_id', { queue: id, max_task_entries: 1 });

      expect(listed.data.queues[0].entries.map((entry: { task: string }) => entry.task)).toEqual(tasks.slice(0, 2));
      expect(byId.data.queue.entries.map((entry: { task: string }) => entry.task)).toEqual(tasks.slice(0, 1));
      expect((await queueById(api, id)).entries).toHaveLength(3);
    });

    test('clearml-agent call: GET with a body on /v2.5', async () => {
      const id = await createQueue(api, 'gpu-queue');

      const result = await sendApiRequest(api.url, {
        method: 'GET',
        path: '/api/v2.5/queues.get_all',
        body: JSON.stringify({ name: 'gpu\\-queue', only_fields: ['name', 'id'] }),
      });

      expect(result.status).toBe(200);
      expect(result.meta.endpoint).toEqual({ name: 'queues.get_all', requested_version: '2.5', actual_version: '2.4' });
      expect(result.data).toEqual({ queues: [{ id, name: 'gpu-queue' }] });
    });
  });

  describe('queues.update', () => {
    test('changes name, display name and tags', async () => {
      const id = await createQueue(api, 'old', { tags: ['a'] });
      api.clock.advance(5);

      const result = await api.call('queues.update', { queue: id, name: 'new', display_name: 'New', tags: ['b'] });

      expectOk(result);
      expect(result.data).toEqual({ updated: 1, fields: { name: 'new', display_name: 'New', tags: ['b'], last_update: isoAt(5) } });
      expect(await queueById(api, id)).toMatchObject({ name: 'new', display_name: 'New', tags: ['b'], system_tags: [], created: START, last_update: isoAt(5) });
    });

    test('unknown queue is 400/701', async () => {
      const result = await api.call('queues.update', { queue: 'nope', name: 'x' });

      expect(bodyOf(result)).toEqual(
        errorEnvelope('queues.update', 400, 701, `Invalid queue id: id=nope, company=${COMPANY.id}`, { id: 'nope', company: COMPANY.id }),
      );
    });
  });

  describe('queues.delete', () => {
    test('empty queue is deleted', async () => {
      const id = await createQueue(api, 'q');

      const result = await api.call('queues.delete', { queue: id });

      expectOk(result);
      expect(result.data).toEqual({ deleted: 1 });
      expect((await api.call('queues.get_by_id', { queue: id })).meta.result_subcode).toBe(701);
    });

    test('queue with entries is 400/702 without force', async () => {
      const id = await createQueue(api, 'q');
      const task = await createTask(api, 't');
      expectOk(await api.call('queues.add_task', { queue: id, task }));

      const result = await api.call('queues.delete', { queue: id });

      expect(bodyOf(result)).toEqual(
        errorEnvelope('queues.delete', 400, 702, `Queue is not empty (use force=true to delete): id=${id}`, { id }),
      );
      expect((await queueById(api, id)).entries.map((entry: { task: string }) => entry.task)).toEqual([task]);
    });

    test('force deletes a queue with entries', async () => {
      const id = await createQueue(api, 'q');
      const task = await createTask(api, 't');
      expectOk(await api.call('queues.add_task', { queue: id, task }));
      expect(await taskStatus(api, task)).toBe('queued');

      const result = await api.call('queues.delete', { queue: id, force: true });

      expectOk(result);
      expect(result.data).toEqual({ deleted: 1 });
      expect(await listedQueueNames(api, {})).toEqual([]);
      expect(await taskStatus(api, task)).toBe('created');
    });

    test('unknown queue is 400/701', async () => {
      expect((await api.call('queues.delete', { queue: 'nope' })).meta.result_subcode).toBe(701);
    });
  });

  describe('queues.add_task and queues.remove_task', () => {
    test('entries keep their order and added time', async () => {
      const id = await createQueue(api, 'q');
      const first = await createTask(api, 'first');
      const second = await createTask(api, 'second');

      const added = await api.call('queues.add_task', { queue: id, task: first });
      api.clock.advance(2);
      expectOk(await api.call('queues.add_task', { queue: id, task: second }));

      expectOk(added);
      expect(added.data).toEqual({ added: 1 });
      expect((await queueById(api, id)).entries).toEqual([
        { task: first, added: START },
        { task: second, added: isoAt(2) },
      ]);
      expect(await taskStatus(api, first)).toBe('queued');
      const task = await api.call('tasks.get_by_id', { task: first });
      expect(task.data.task.execution).toEqual({ queue: id });
    });

    test('task already in the queue is 400/706', async () => {
      const id = await createQueue(api, 'q');
      const task = await createTask(api, 't');
      expectOk(await api.call('queues.add_task', { queue: id, task }));

      const result = await api.call('queues.add_task', { queue: id, task });

      expect(bodyOf(result)).toEqual(
        errorEnvelope('queues.add_task', 400, 706, `Failed adding task to queue since task is already queued: task=${task}`, { task }),
      );
      expect((await queueById(api, id)).entries).toHaveLength(1);
    });

    test('unknown task is 400/101 and unknown queue 400/701', async () => {
      const id = await createQueue(api, 'q');
      const task = await createTask(api, 't');

      const unknownTask = await api.call('queues.add_task', { queue: id, task: 'nope' });
      const unknownQueue = await api.call('queues.add_task', { queue: 'nope', task });

      expect(bodyOf(unknownTask)).toEqual(
        errorEnvelope('queues.add_task', 400, 101, `Invalid task id: id=nope, company=${COMPANY.id}`, { id: 'nope', company: COMPANY.id }),
      );
      expect(unknownQueue.meta.result_subcode).toBe(701);
      expect((await queueById(api, id)).entries).toEqual([]);
    });

    test('remove_task returns the task to created', async () => {
      const id = await createQueue(api, 'q');
      const task = await createTask(api, 't');
      expectOk(await api.call('queues.add_task', { queue: id, task }));

      const removed = await api.call('queues.remove_task', { queue: id, task });
      const again = await api.call('queues.remove_task', { queue: id, task });

      expectOk(removed);
      expect(removed.data).toEqual({ removed: 1 });
      expect((await queueById(api, id)).entries).toEqual([]);
      expect(await taskStatus(api, task)).toBe('created');
      expect(bodyOf(again)).toEqual(
        errorEnvelope('queues.remove_task', 400, 703, `Invalid queue id or task not in queue: task=${task}, id=${id}, company=${COMPANY.id}`, {
          task,
          id,
          company: COMPANY.id,
        }),
      );
    });

    test('deleting a task removes its entries', async () => {
      const id = await createQueue(api, 'q');
      const task = await createTask(api, 't');
      const kept = await createTask(api, 'kept');
      expectOk(await api.call('queues.add_task', { queue: id, task }));
      expectOk(await api.call('queues.add_task', { queue: id, task: kept }));

      expectOk(await api.call('tasks.delete', { task, force: true }));

      expect((await queueById(api, id)).entries.map((entry: { task: string }) => entry.task)).toEqual([kept]);
    });
  });

  describe('queues.get_next_task', () => {
    test('takes entries first in, first out', async () => {
      const id = await createQueue(api, 'q');
      const first = await createTask(api, 'first');
      const second = await createTask(api, 'second');
      expectOk(await api.call('queues.add_task', { queue: id, task: first }));
      api.clock.advance(1);
      expectOk(await api.call('queues.add_task', { queue: id, task: second }));

      const taken = [];
      for (let call = 0; call < 3; call++) {
        const result = await api.call('queues.get_next_task', { queue: id }, { version: '2.14' });
        expectOk(result);
        taken.push(result.data);
      }

      expect(taken).toEqual([{ entry: { task: first, added: START } }, { entry: { task: second, added: isoAt(1) } }, {}]);
      expect((await queueById(api, id)).entries).toEqual([]);
    });

    test('get_task_info adds the task owner', async () => {
      const id = await createQueue(api, 'q');
      const task = await createTask(api, 't');
      expectOk(await api.call('queues.add_task', { queue: id, task }));

      const result = await api.call('queues.get_next_task', { queue: id, get_task_info: true }, { version: '2.14' });

      expect(result.meta.endpoint).toEqual({ name: 'queues.get_next_task', requested_version: '2.14', actual_version: '2.14' });
      expect(result.data).toEqual({ entry: { task, added: START }, task_info: { company: COMPANY.id, user: USER.id } });
    });

    test('task field takes the first entry only when it is that task', async () => {
      const id = await createQueue(api, 'q');
      const first = await createTask(api, 'first');
      const second = await createTask(api, 'second');
      expectOk(await api.call('queues.add_task', { queue: id, task: first }));
      expectOk(await api.call('queues.add_task', { queue: id, task: second }));

      const other = await api.call('queues.get_next_task', { queue: id, task: second });
      const same = await api.call('queues.get_next_task', { queue: id, task: first });

      expect(other.data).toEqual({});
      expect(same.data).toEqual({ entry: { task: first, added: START } });
    });

    test('unknown queue is 400/701', async () => {
      const result = await api.call('queues.get_next_task', { queue: 'nope' });

      expect(bodyOf(result)).toEqual(
        errorEnvelope('queues.get_next_task', 400, 701, `Invalid queue id: id=nope, company=${COMPANY.id}`, { id: 'nope', company: COMPANY.id }),
      );
    });

    test('concurrent callers never take the same entry', async () => {
      const id = await createQueue(api, 'q');
      const tasks: string[] = [];
      for (let index = 0; index < 6; index++) {
        tasks.push(await createTask(api, `t${index}`));
        expectOk(await api.call('queues.add_task', { queue: id, task: tasks[index] }));
      }

      const results = await Promise.all(Array.from({ length: 8 }, () => api.call('queues.get_next_task', { queue: id })));

      results.forEach(expectOk);
      const taken = results.flatMap((result) => (result.data.entry ? [result.data.entry.task] : []));
      expect([...taken].sort()).toEqual([...tasks].sort());
    });
  });

  describe('queues.get_default', () => {
    test('returns the queue with system tag default', async () => {
      await createQueue(api, 'other');
      const id = await createQueue(api, 'main', { system_tags: ['default'] });

      const result = await api.call('queues.get_default', {});

      expectOk(result);
      expect(result.data).toEqual({ id, name: 'main' });
    });

    test('no default queue is 400/707', async () => {
      await createQueue(api, 'other');

      const result = await api.call('queues.get_default', {});

      expect(bodyOf(result)).toEqual(
        errorEnvelope('queues.get_default', 400, 707, 'No queue is tagged as the default queue for this company', {}),
      );
    });

    test('two default queues are 400/708', async () => {
      const first = await createQueue(api, 'a', { system_tags: ['default'] });
      api.clock.advance(1);
      const second = await createQueue(api, 'b', { system_tags: ['default'] });

      const result = await api.call('queues.get_default', {});

      expect(bodyOf(result)).toEqual(
        errorEnvelope(
          'queues.get_default',
          400,
          708,
          `More than one queue is tagged as the default queue for this company: queues=(${first}, ${second})`,
          { queues: [first, second] },
        ),
      );
    });
  });
});
