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
  START,
  USER,
  useApiServer,
  type ApiFixture,
} from './fixtures';

const ID = /^[0-9a-f]{32}$/;

type Status = 'created' | 'queued' | 'in_progress' | 'stopped' | 'completed' | 'failed';

async function taskById(api: ApiFixture, task: string) {
  const result = await api.call('tasks.get_by_id', { task });
  expectOk(result);

  return result.data.task;
}

/** Creates a task and brings it to `status` through the API. */
async function taskIn(api: ApiFixture, status: Status): Promise<string> {
  const task = await createTask(api, `task ${status}`);
  if (status === 'created') {
    return task;
  }
  if (status === 'queued') {
    expectOk(await api.call('queues.add_task', { queue: await createQueue(api, 'q'), task }));
    return task;
  }

  expectOk(await api.call('tasks.started', { task }));
  const finish = { stopped: 'tasks.stopped', completed: 'tasks.completed', failed: 'tasks.failed' } as Record<string, string>;
  if (status !== 'in_progress') {
    expectOk(await api.call(finish[status], { task }));
  }

  return task;
}

const ENDPOINT_STATUS = {
  'tasks.started': 'in_progress',
  'tasks.stopped': 'stopped',
  'tasks.completed': 'completed',
  'tasks.failed': 'failed',
} as const;

// Every status change an endpoint allows without force; all others are 400/110.
const ALLOWED: Record<keyof typeof ENDPOINT_STATUS, Status[]> = {
  'tasks.started': ['created', 'queued'],
  'tasks.stopped': ['queued', 'in_progress'],
  'tasks.completed': ['in_progress', 'stopped'],
  'tasks.failed': ['in_progress', 'stopped'],
};

const STATUSES: Status[] = ['created', 'queued', 'in_progress', 'stopped', 'completed', 'failed'];

const STATUS_CASES = (Object.keys(ENDPOINT_STATUS) as (keyof typeof ENDPOINT_STATUS)[]).flatMap((endpoint) =>
  STATUSES.map((from) => [endpoint, from, ALLOWED[endpoint].includes(from)] as const),
);

describe.each(TEST_TARGETS)('tasks endpoints on %s', (target) => {
  const api = useApiServer(target);

  describe('tasks.create and tasks.get_by_id', () => {
    test('task fields are exact', async () => {
      const project = await createProject(api, 'vision');

      const created = await api.call('tasks.create', { name: 'train resnet', type: 'training', project, comment: 'first run', tags: ['a'] });

      expectOk(created);
      expect(created.data).toEqual({ id: expect.stringMatching(ID) });
      expect(await taskById(api, created.data.id)).toEqual({
        id: created.data.id,
        name: 'train resnet',
        type: 'training',
        status: 'created',
        status_changed: START,
        project,
        user: USER.id,
        company: COMPANY.id,
        comment: 'first run',
        created: START,
        last_update: START,
        last_iteration: 0,
        active_duration: 0,
        execution: {},
        tags: ['a'],
        system_tags: [],
      });
    });

    test('unknown project is 400/401 and stores nothing', async () => {
      const result = await api.call('tasks.create', { name: 't', type: 'training', project: 'nope' });

      expect(bodyOf(result)).toEqual(
        errorEnvelope('tasks.create', 400, 401, `Invalid project id: id=nope, company=${COMPANY.id}`, { id: 'nope', company: COMPANY.id }),
      );
      expect((await api.call('tasks.get_all', {})).data).toEqual({ tasks: [] });
    });

    test.each([
      [{ name: 't' }, 11, 'Missing required fields: type', { fields: ['type'] }],
      [{ type: 'training' }, 11, 'Missing required fields: name', { fields: ['name'] }],
    ])('request %j is 400/%d', async (body, subcode, message, data) => {
      const result = await api.call('tasks.create', body);

      expect(bodyOf(result)).toEqual(errorEnvelope('tasks.create', 400, subcode, message, data, { actual: '2.13' }));
    });

    test('unknown type is 400/12', async () => {
      const result = await api.call('tasks.create', { name: 't', type: 'cooking' });

      expect(result.status).toBe(400);
      expect(result.meta.result_subcode).toBe(12);
      expect(result.meta.error_data).toEqual({ field: 'type', value: 'cooking' });
    });

    test('unknown task is 400/101', async () => {
      const result = await api.call('tasks.get_by_id', { task: 'nope' });

      expect(bodyOf(result)).toEqual(
        errorEnvelope('tasks.get_by_id', 400, 101, `Invalid task id: id=nope, company=${COMPANY.id}`, { id: 'nope', company: COMPANY.id }, { actual: '2.4' }),
      );
    });
  });

  describe('tasks.get_all', () => {
    test('filters by id, status, project and name', async () => {
      const vision = await createProject(api, 'vision');
      const a = await createTask(api, 'train resnet', { project: vision });
      api.clock.advance(1);
      const b = await createTask(api, 'Train YOLO', { project: vision });
      api.clock.advance(1);
      const c = await createTask(api, 'evaluate');
      expectOk(await api.call('tasks.started', { task: b }));

      const names = async (body: Record<string, unknown>) => {
        const result = await api.call('tasks.get_all', body);
        expectOk(result);
        return result.data.tasks.map((task: { name: string }) => task.name);
      };

      expect(await names({})).toEqual(['train resnet', 'Train YOLO', 'evaluate']);
      expect(await names({ id: [a, c] })).toEqual(['train resnet', 'evaluate']);
      expect(await names({ status: ['in_progress'] })).toEqual(['Train YOLO']);
      expect(await names({ status: ['created', 'in_progress'], project: [vision] })).toEqual(['train resnet', 'Train YOLO']);
      expect(await names({ name: '^train' })).toEqual(['train resnet', 'Train YOLO']);
      expect(await names({ name: 'train\\ yolo' })).toEqual(['Train YOLO']);
    });

    test('only_fields returns those fields and the id', async () => {
      const queue = await createQueue(api, 'q');
      const task = await createTask(api, 't');
      expectOk(await api.call('queues.add_task', { queue, task }));

      const result = await api.call('tasks.get_all', { id: [task], only_fields: ['status', 'execution.queue'] });

      expect(result.data).toEqual({ tasks: [{ id: task, status: 'queued', execution: { queue } }] });
    });

    test('unknown status is 400/12', async () => {
      const result = await api.call('tasks.get_all', { status: ['running'] });

      expect(result.meta.result_subcode).toBe(12);
      expect(result.meta.error_data).toEqual({ field: 'status.0', value: 'running' });
    });

    test('invalid name pattern is 400/12', async () => {
      const result = await api.call('tasks.get_all', { name: '(' });

      expect(result.meta.result_subcode).toBe(12);
      expect(result.meta.error_data).toEqual({ field: 'name', value: '(' });
    });
  });

  describe('status rules', () => {
    test.each(STATUS_CASES)('%s from %s allowed: %s', async (endpoint, from, allowed) => {
      const task = await taskIn(api, from);
      api.clock.advance(10);

      const result = await api.call(endpoint, { task, status_reason: 'by test' });
      const status = ENDPOINT_STATUS[endpoint];

      if (allowed) {
        expectOk(result);
        expect(result.data).toMatchObject({ updated: 1, fields: { status, status_reason: 'by test', status_changed: isoAt(10) } });
        expect((await taskById(api, task)).status).toBe(status);
        return;
      }

      const reason = from === status ? 'Task already in requested status' : 'Invalid status change';
      expect(bodyOf(result)).toEqual(
        errorEnvelope(
          endpoint,
          400,
          110,
          `Invalid task status (${reason}): current_status=${from}, new_status=${status}`,
          { current_status: from, new_status: status },
        ),
      );
      expect((await taskById(api, task)).status).toBe(from);
    });

    test('force skips the rules', async () => {
      const task = await taskIn(api, 'completed');

      const result = await api.call('tasks.started', { task, force: true, status_message: 'pulled by agent' });

      expectOk(result);
      expect(result.data).toEqual({
        updated: 1,
        started: 1,
        fields: {
          status: 'in_progress',
          status_reason: '',
          status_message: 'pulled by agent',
          status_changed: START,
          last_update: START,
          started: START,
        },
      });
      expect(await taskById(api, task)).toMatchObject({ status: 'in_progress', status_message: 'pulled by agent', started: START });
    });

    test('unknown task is 400/101', async () => {
      for (const endpoint of Object.keys(ENDPOINT_STATUS)) {
        expect((await api.call(endpoint, { task: 'nope' })).meta.result_subcode, endpoint).toBe(101);
      }
    });
  });

  describe('running time', () => {
    test('counts the time in progress, in milliseconds', async () => {
      const task = await createTask(api, 't');
      api.clock.advance(5);
      expectOk(await api.call('tasks.started', { task }));

      api.clock.advance(90.5);
      expect((await taskById(api, task)).active_duration).toBe(90);

      expectOk(await api.call('tasks.stopped', { task }));
      api.clock.advance(1000);
      expect(await taskById(api, task)).toMatchObject({ status: 'stopped', active_duration: 90, started: isoAt(5), completed: isoAt(95.5) });
    });

    test('a new start counts from zero, as in ClearML', async () => {
      const task = await createTask(api, 't');
      expectOk(await api.call('tasks.started', { task }));
      api.clock.advance(100);
      expectOk(await api.call('tasks.stopped', { task }));
      api.clock.advance(50);

      expectOk(await api.call('tasks.started', { task, force: true }));
      api.clock.advance(20);

      expect(await taskById(api, task)).toMatchObject({ status: 'in_progress', active_duration: 20, started: isoAt(150) });
    });
  });

  describe('tasks.edit', () => {
    test('changes name and last_iteration in any status', async () => {
      const task = await taskIn(api, 'in_progress');
      api.clock.advance(3);

      const result = await api.call('tasks.edit', { task, name: 'renamed', last_iteration: 1200 });

      expectOk(result);
      expect(result.data).toEqual({ updated: 1, fields: { name: 'renamed', last_iteration: 1200, last_update: isoAt(3) } });
      expect(await taskById(api, task)).toMatchObject({ name: 'renamed', last_iteration: 1200, status: 'in_progress' });
    });

    test.each([
      [{ last_iteration: -1 }, 'last_iteration', -1],
      [{ last_iteration: 1.5 }, 'last_iteration', 1.5],
      [{ name: '' }, 'name', ''],
    ])('%j is 400/12', async (fields, field, value) => {
      const task = await createTask(api, 't');

      const result = await api.call('tasks.edit', { task, ...fields });

      expect(result.meta.result_subcode).toBe(12);
      expect(result.meta.error_data).toEqual({ field, value });
      expect((await taskById(api, task)).name).toBe('t');
    });

    test('unknown task is 400/101', async () => {
      expect((await api.call('tasks.edit', { task: 'nope', name: 'x' })).meta.result_subcode).toBe(101);
    });
  });

  describe('tasks.delete', () => {
    test('created task is deleted', async () => {
      const task = await createTask(api, 't');

      const result = await api.call('tasks.delete', { task });

      expectOk(result);
      expect(result.data).toEqual({ deleted: true });
      expect((await api.call('tasks.get_by_id', { task })).meta.result_subcode).toBe(101);
    });

    test('task that is not created is 400/123 without force', async () => {
      const task = await taskIn(api, 'in_progress');

      const refused = await api.call('tasks.delete', { task });
      const forced = await api.call('tasks.delete', { task, force: true });

      expect(bodyOf(refused)).toEqual(
        errorEnvelope(
          'tasks.delete',
          400,
          123,
          `Task cannot be deleted (due to status, use force=True): task=${task}, expected=created, current=in_progress`,
          { task, expected: 'created', current: 'in_progress' },
        ),
      );
      expectOk(forced);
      expect((await api.call('tasks.get_by_id', { task })).meta.result_subcode).toBe(101);
    });

    test('unknown task is 400/101', async () => {
      expect((await api.call('tasks.delete', { task: 'nope' })).meta.result_subcode).toBe(101);
    });
  });
});
