import { Agent } from 'node:http';

import { sql } from 'drizzle-orm';
import { describe, expect, test } from 'vitest';

import { okMeta, sendApiRequest } from '../helpers/api';
import { TEST_TARGETS } from '../helpers/database';
import { startTestServer } from '../helpers/server';

import { bodyOf, errorEnvelope, expectOk, isoAt, listedIds, registerWorker, T, useApiServer } from './fixtures';

const MIB = 1024 * 1024;

/** Builds a JSON object body of exactly `bytes` bytes. */
function jsonBodyOfSize(bytes: number): string {
  const empty = JSON.stringify({ padding: '' });

  return JSON.stringify({ padding: 'x'.repeat(bytes - empty.length) });
}

describe.each(TEST_TARGETS)('wire protocol on %s', (target) => {
  const api = useApiServer(target);

  describe('envelope', () => {
    test('success envelope is exact', async () => {
      const result = await api.call('workers.get_count', {});

      expect(result.status).toBe(200);
      expect(bodyOf(result)).toEqual({
        meta: { id: expect.stringMatching(/^[0-9a-f]{32}$/), trx: result.meta.id, ...okMeta('workers.get_count') },
        data: { count: 0 },
      });
    });

    test('trx is the X-ClearML-Trx header', async () => {
      const result = await api.call('workers.get_count', {}, { headers: { 'x-clearml-trx': 'trx-from-agent-1' } });

      expect(result.meta.trx).toBe('trx-from-agent-1');
      expect(result.meta.id).toMatch(/^[0-9a-f]{32}$/);
    });

    test('request ids differ between calls', async () => {
      const first = await api.call('workers.get_count', {});
      const second = await api.call('workers.get_count', {});

      expect(first.meta.id).not.toBe(second.meta.id);
    });

    test('error envelope has status equal to result_code', async () => {
      const result = await api.call('workers.unregister', { worker: 'absent' });

      expect(result.status).toBe(400);
      expect(bodyOf(result)).toEqual(
        errorEnvelope('workers.unregister', 400, 1004, 'Worker is not registered: "absent"', { worker: 'absent' }, { actual: '2.4' }),
      );
      expect(result.meta.trx).toBe(result.meta.id);
    });
  });

  describe('paths', () => {
    test.each([
      ['/api/workers.get_count', '2.30', '2.30'],
      ['/api/workers.get_count/', '2.30', '2.30'],
      ['/api/v2.30/workers.get_count', '2.30', '2.30'],
      ['/api/v2.30/workers.get_count/', '2.30', '2.30'],
      ['/api/v2.26/workers.get_count/', '2.26', '2.26'],
    ])('%s resolves to requested %s, actual %s', async (path, requested, actual) => {
      const result = await sendApiRequest(api.url, { path, body: '{}' });

      expect(result.status).toBe(200);
      expect(result.meta).toMatchObject(okMeta('workers.get_count', requested, actual));
      expect(result.data).toEqual({ count: 0 });
    });

    test.each([
      ['/api/workers.no_such_action', 'workers.no_such_action', '2.30'],
      ['/api/v2.30/models.get_all', 'models.get_all', '2.30'],
      ['/api/v2.3/queues.get_all', 'queues.get_all', '2.3'],
      ['/api/v2.4/workers.get_everything', 'workers.get_everything', '2.4'],
      ['/api/workers', 'workers', '2.30'],
    ])('unknown endpoint %s is 404/0', async (path, name, version) => {
      const result = await sendApiRequest(api.url, { path, body: '{}' });

      expect(result.status).toBe(404);
      expect(bodyOf(result)).toEqual(
        errorEnvelope(
          name,
          404,
          0,
          `Unable to find endpoint for name ${name} and version ${version}`,
          { endpoint: name, version },
          { requested: version, actual: null },
        ),
      );
    });

    test('path with extra segments is 404/0', async () => {
      const result = await sendApiRequest(api.url, { path: '/api/v2.30/extra/workers.get_count', body: '{}' });

      expect(result.status).toBe(404);
      expect(bodyOf(result)).toEqual(
        errorEnvelope(
          'v2.30/extra/workers.get_count',
          404,
          0,
          'Unable to find endpoint for name v2.30/extra/workers.get_count and version 2.30',
          { endpoint: 'v2.30/extra/workers.get_count', version: '2.30' },
          { actual: null },
        ),
      );
    });
  });

  describe('versions', () => {
    // Bodies whose result does not depend on the stored data. The reads succeed, and the
    // writes stop at validation, after the endpoint and version are resolved.
    const bodies: Record<string, { body: object; code: number; subcode: number }> = {
      'workers.get_all': { body: {}, code: 200, subcode: 0 },
      'workers.get_count': { body: {}, code: 200, subcode: 0 },
      'workers.register': { body: {}, code: 400, subcode: 11 },
      'workers.unregister': { body: {}, code: 400, subcode: 11 },
      'workers.status_report': { body: {}, code: 400, subcode: 11 },
      'workers.get_metric_keys': { body: {}, code: 400, subcode: 1005 },
      'workers.get_stats': { body: {}, code: 400, subcode: 11 },
      'workers.get_activity_report': { body: {}, code: 400, subcode: 11 },
    };

    test.each([
      ['workers.get_all', undefined, '2.30'],
      ['workers.get_all', '2.4', '2.4'],
      ['workers.get_all', '2.19', '2.4'],
      ['workers.get_all', '2.20', '2.20'],
      ['workers.get_all', '2.21', '2.20'],
      ['workers.get_all', '2.22', '2.22'],
      ['workers.get_all', '2.29', '2.22'],
      ['workers.get_all', '2.30', '2.30'],
      ['workers.get_all', '3.0', '2.30'],
      ['workers.get_all', '999.0', '2.30'],
      ['workers.get_count', undefined, '2.30'],
      ['workers.get_count', '2.26', '2.26'],
      ['workers.get_count', '2.29', '2.26'],
      ['workers.get_count', '2.30', '2.30'],
      ['workers.get_count', '999.0', '2.30'],
      ['workers.register', undefined, '2.22'],
      ['workers.register', '2.4', '2.4'],
      ['workers.register', '2.21', '2.4'],
      ['workers.register', '2.22', '2.22'],
      ['workers.register', '999.0', '2.22'],
      ['workers.status_report', undefined, '2.22'],
      ['workers.status_report', '2.4', '2.4'],
      ['workers.status_report', '2.21', '2.4'],
      ['workers.status_report', '2.22', '2.22'],
      ['workers.status_report', '999.0', '2.22'],
      ['workers.unregister', undefined, '2.4'],
      ['workers.unregister', '2.4', '2.4'],
      ['workers.unregister', '999.0', '2.4'],
      ['workers.get_metric_keys', undefined, '2.4'],
      ['workers.get_metric_keys', '2.4', '2.4'],
      ['workers.get_metric_keys', '999.0', '2.4'],
      ['workers.get_stats', undefined, '2.4'],
      ['workers.get_stats', '2.4', '2.4'],
      ['workers.get_stats', '999.0', '2.4'],
      ['workers.get_activity_report', undefined, '2.4'],
      ['workers.get_activity_report', '2.4', '2.4'],
      ['workers.get_activity_report', '999.0', '2.4'],
    ])('%s at version %s resolves to %s', async (endpoint, version, actual) => {
      const expected = bodies[endpoint];

      const result = await api.call(endpoint, expected.body, { version });

      expect(result.meta.endpoint).toEqual({ name: endpoint, requested_version: version ?? '2.30', actual_version: actual });
      expect(result.status).toBe(expected.code);
      expect(result.meta.result_subcode).toBe(expected.subcode);
    });

    test.each([
      ['workers.get_count', '2.25'],
      ['workers.get_count', '2.4'],
      ['workers.get_all', '2.3'],
      ['workers.register', '1.0'],
      ['workers.status_report', '2.0'],
      ['workers.get_stats', '0.9'],
    ])('%s below its first version %s is 404/0', async (endpoint, version) => {
      const result = await api.call(endpoint, {}, { version });

      expect(result.status).toBe(404);
      expect(bodyOf(result)).toEqual(
        errorEnvelope(
          endpoint,
          404,
          0,
          `Unable to find endpoint for name ${endpoint} and version ${version}`,
          { endpoint, version },
          { requested: version, actual: null },
        ),
      );
    });

    test.each(['2', 'x.y', '2.x', 'x.30', '2.30.1', '', '2.', '.30', '-2.30'])(
      'malformed version v%s is 400/2',
      async (version) => {
        const result = await sendApiRequest(api.url, { path: `/api/v${version}/workers.get_all`, body: '{}' });

        expect(result.status).toBe(400);
        expect(bodyOf(result)).toEqual(
          errorEnvelope(
            'workers.get_all',
            400,
            2,
            `Request path has invalid version: '${version}' (expected v<major>.<minor>, for example v2.30)`,
            { version },
            { requested: version, actual: null },
          ),
        );
      },
    );
  });

  describe('methods and bodies', () => {
    test.each(['GET', 'POST', 'PUT'] as const)('%s carries a JSON body', async (method) => {
      await registerWorker(api, 'alpha-1');
      await registerWorker(api, 'beta-1');

      const result = await sendApiRequest(api.url, {
        method,
        path: '/api/v2.30/workers.get_all',
        body: JSON.stringify({ worker_pattern: 'alpha-*' }),
        headers: { 'content-type': 'application/json' },
      });

      expect(result.status).toBe(200);
      expect(result.data.workers.map((worker: { id: string }) => worker.id)).toEqual(['alpha-1']);
    });

    test.each(['DELETE', 'PATCH'] as const)('%s is 405 with the envelope', async (method) => {
      await registerWorker(api, 'w');

      const result = await sendApiRequest(api.url, { method, path: '/api/workers.unregister', body: JSON.stringify({ worker: 'w' }) });

      expect(result.status).toBe(405);
      expect(result.meta).toMatchObject({
        result_code: 405,
        result_subcode: 0,
        result_msg: `Method ${method} is not allowed: use GET, POST or PUT`,
        error_stack: null,
        error_data: { method },
      });
      expect(result.data).toEqual({});
      expect(await listedIds(api)).toEqual(['w']);
    });

    test('GET with a body registers a worker', async () => {
      const result = await sendApiRequest(api.url, {
        method: 'GET',
        path: '/api/workers.register',
        body: JSON.stringify({ worker: 'registered-by-get' }),
      });

      expect(result.status).toBe(200);
      expect(result.meta.endpoint).toEqual({ name: 'workers.register', requested_version: '2.30', actual_version: '2.22' });
      expect(await listedIds(api)).toEqual(['registered-by-get']);
    });

    test('GET with no body reads the query string', async () => {
      await registerWorker(api, 'alpha-1');

      const result = await sendApiRequest(api.url, { method: 'GET', path: '/api/workers.get_count?worker_pattern=alpha-*' });

      expect(result.status).toBe(200);
      expect(result.data).toEqual({ count: 1 });
    });

    test.each([
      ['no body', undefined],
      ['an empty body', ''],
      ['a blank body', ' \r\n\t '],
    ])('%s means {}', async (_label, body) => {
      const count = await sendApiRequest(api.url, { method: 'POST', path: '/api/workers.get_count', body });
      const register = await sendApiRequest(api.url, { method: 'POST', path: '/api/workers.register', body });

      expect(count.status).toBe(200);
      expect(count.data).toEqual({ count: 0 });
      expect(bodyOf(register)).toEqual(
        errorEnvelope('workers.register', 400, 11, 'Missing required fields: worker', { fields: ['worker'] }, { actual: '2.22' }),
      );
    });

    test.each(['{', '{"worker": "w",}', 'worker=w', '{"a": 1}{"b": 2}', '\u00ff'])('invalid JSON %j is 400/12', async (body) => {
      const result = await sendApiRequest(api.url, { path: '/api/workers.register', body });

      expect(result.status).toBe(400);
      expect(bodyOf(result)).toEqual(
        errorEnvelope(
          'workers.register',
          400,
          12,
          expect.stringMatching(/^Validation error: request body is not valid JSON \(.+\)$/),
          {},
          { actual: '2.22' },
        ),
      );
    });

    test.each(['null', '[]', '[{"worker": "w"}]', '"w"', '42', 'true'])('non-object body %s is 400/12', async (body) => {
      const result = await sendApiRequest(api.url, { path: '/api/workers.register', body });

      expect(result.status).toBe(400);
      expect(bodyOf(result)).toEqual(
        errorEnvelope('workers.register', 400, 12, 'Validation error: request body must be a JSON object', {}, { actual: '2.22' }),
      );
    });

    test('body of exactly 1 MiB is accepted', async () => {
      const body = jsonBodyOfSize(MIB);
      expect(Buffer.byteLength(body)).toBe(MIB);

      const result = await sendApiRequest(api.url, { path: '/api/workers.get_count', body });

      expect(result.status).toBe(200);
      expect(result.data).toEqual({ count: 0 });
    });

    test('body over 1 MiB is 413 with the envelope', async () => {
      const result = await sendApiRequest(api.url, { path: '/api/workers.get_count', body: jsonBodyOfSize(MIB + 1) });

      expect(result.status).toBe(413);
      expect(bodyOf(result)).toEqual(
        errorEnvelope(
          'workers.get_count',
          413,
          0,
          'Request body too large: the limit is 1048576 bytes',
          { limit: MIB },
          { actual: '2.30' },
        ),
      );
    });

    test('chunked body over 1 MiB is 413', async () => {
      const result = await sendApiRequest(api.url, {
        path: '/api/workers.get_count',
        body: jsonBodyOfSize(2 * MIB),
        headers: { 'transfer-encoding': 'chunked' },
      });

      expect(result.status).toBe(413);
      expect(result.meta.result_code).toBe(413);
    });

    // clearml-agent keeps connections alive, so a connection must stay usable after a
    // 413: the server either drains the rest of the body or closes the connection.
    test('keep-alive connection works after a 413', async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      let timer: NodeJS.Timeout | undefined;
      try {
        const rejected = await sendApiRequest(api.url, { path: '/api/workers.get_count', body: jsonBodyOfSize(2 * MIB), agent });
        const next = await Promise.race([
          sendApiRequest(api.url, { path: '/api/workers.get_count', body: '{}', agent }),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error('the request after the 413 got no response within 2 s')), 2000);
          }),
        ]);

        expect(rejected.status).toBe(413);
        expect(next.status).toBe(200);
        expect(next.data).toEqual({ count: 0 });
      } finally {
        clearTimeout(timer);
        agent.destroy();
      }
    });

    test.each([
      ['no Content-Type', {}],
      ['text/plain', { 'content-type': 'text/plain' }],
      ['form encoding', { 'content-type': 'application/x-www-form-urlencoded' }],
    ])('JSON body with %s is read', async (_label, headers) => {
      const result = await sendApiRequest(api.url, {
        path: '/api/workers.register',
        body: JSON.stringify({ worker: 'untyped-body' }),
        headers,
      });

      expect(result.status).toBe(200);
      expect(await listedIds(api)).toEqual(['untyped-body']);
    });
  });

  describe('query string', () => {
    test('number parameter is converted', async () => {
      await registerWorker(api, 'old');
      api.clock.advance(7200);

      const withDefault = await api.call('workers.get_all', undefined, { query: '' });
      const withZero = await api.call('workers.get_all', undefined, { query: 'last_seen=0' });
      const withLarge = await api.call('workers.get_all', undefined, { query: 'last_seen=7200' });

      expect(withDefault.data.workers).toEqual([]);
      expect(withZero.data.workers.map((worker: { id: string }) => worker.id)).toEqual(['old']);
      expect(withLarge.data.workers.map((worker: { id: string }) => worker.id)).toEqual(['old']);
    });

    test('repeated parameters form an array', async () => {
      await registerWorker(api, 'a', { tags: ['red'] });
      await registerWorker(api, 'b', { tags: ['green'] });
      await registerWorker(api, 'c', { tags: ['blue'] });

      const repeated = await api.call('workers.get_all', undefined, { method: 'GET', query: 'tags=red&tags=green' });
      const single = await api.call('workers.get_all', undefined, { method: 'GET', query: 'tags=blue' });
      const jsonArray = await api.call('workers.get_all', undefined, { method: 'GET', query: `tags=${encodeURIComponent('["red","blue"]')}` });

      expect(repeated.data.workers.map((worker: { id: string }) => worker.id)).toEqual(['a', 'b']);
      expect(single.data.workers.map((worker: { id: string }) => worker.id)).toEqual(['c']);
      expect(jsonArray.data.workers.map((worker: { id: string }) => worker.id)).toEqual(['a', 'c']);
    });

    test('query parameter is merged into the body', async () => {
      const result = await api.call('workers.register', { timeout: 60 }, { query: 'worker=from-query' });

      expectOk(result);
      const listed = await api.call('workers.get_all', {});
      expect(listed.data.workers).toHaveLength(1);
      expect(listed.data.workers[0].id).toBe('from-query');
      expect(listed.data.workers[0].register_time).toBe(isoAt(0));
    });

    test('query parameter replaces the body value', async () => {
      await registerWorker(api, 'alpha-1');
      await registerWorker(api, 'beta-1');

      const result = await api.call('workers.get_count', { worker_pattern: 'alpha-*' }, { query: 'worker_pattern=beta-*' });

      expect(result.data).toEqual({ count: 1 });
      const beta = await api.call('workers.get_all', { worker_pattern: 'alpha-*' }, { query: 'worker_pattern=beta-*' });
      expect(beta.data.workers.map((worker: { id: string }) => worker.id)).toEqual(['beta-1']);
    });

    test('unconvertible number is 400/12 naming the field', async () => {
      const result = await api.call('workers.get_all', undefined, { method: 'GET', query: 'last_seen=soon' });

      expect(result.status).toBe(400);
      expect(bodyOf(result)).toEqual(
        errorEnvelope(
          'workers.get_all',
          400,
          12,
          expect.stringMatching(/^Validation error: invalid value "soon" for field 'last_seen': /),
          { field: 'last_seen', value: 'soon' },
          { actual: '2.30' },
        ),
      );
    });

    test('unknown parameter is ignored', async () => {
      const result = await api.call('workers.get_count', undefined, { method: 'GET', query: 'is_daemon=true&foo=1&foo=2' });

      expect(result.status).toBe(200);
      expect(result.data).toEqual({ count: 0 });
    });
  });

  describe('fields', () => {
    test('unknown fields are ignored', async () => {
      const result = await api.call('workers.register', {
        worker: 'with-extras',
        is_daemon: true,
        nested: { anything: [1, 2] },
        timeout: 60,
      });

      expectOk(result);
      expect(await listedIds(api)).toEqual(['with-extras']);
    });

    test('fields of later versions are accepted at 2.4', async () => {
      await registerWorker(api, 'alpha-1', { system_tags: ['pool'] });
      await registerWorker(api, 'beta-1', { system_tags: ['pool'] });

      const result = await api.call('workers.get_all', { worker_pattern: 'alpha-*', system_tags: ['pool'], tags: [] }, { version: '2.4' });

      expect(result.meta.endpoint.actual_version).toBe('2.4');
      expect(result.data.workers.map((worker: { id: string }) => worker.id)).toEqual(['alpha-1']);
      expect(result.data.workers[0].system_tags).toEqual(['pool']);
    });

    test('null is the same as an absent field', async () => {
      const result = await api.call('workers.register', {
        worker: 'nulls',
        timeout: null,
        queues: null,
        tags: null,
        system_tags: null,
      });
      expectOk(result);

      const listed = await api.call('workers.get_all', { tags: null, worker_pattern: null });
      expect(listed.data.workers).toHaveLength(1);
      expect(listed.data.workers[0]).toMatchObject({ id: 'nulls', queues: [], tags: [], system_tags: [] });

      // The default timeout of 600 s applies.
      api.clock.advance(599);
      expect(await listedIds(api)).toEqual(['nulls']);
      api.clock.advance(1);
      expect(await listedIds(api)).toEqual([]);
    });

    test.each([
      ['workers.register', { worker: 42 }, 'worker', 42],
      ['workers.register', { worker: ['w'] }, 'worker', ['w']],
      ['workers.register', { worker: 'w', timeout: '60' }, 'timeout', '60'],
      ['workers.register', { worker: 'w', timeout: 1.5 }, 'timeout', 1.5],
      ['workers.register', { worker: 'w', timeout: true }, 'timeout', true],
      ['workers.register', { worker: 'w', tags: 'gpu' }, 'tags', 'gpu'],
      ['workers.register', { worker: 'w', tags: ['gpu', 7] }, 'tags.1', 7],
      ['workers.register', { worker: 'w', queues: [{ id: 'q' }] }, 'queues.0', { id: 'q' }],
      ['workers.unregister', { worker: {} }, 'worker', {}],
      ['workers.status_report', { worker: 'w', timestamp: '1767225600' }, 'timestamp', '1767225600'],
      ['workers.status_report', { worker: 'w', timestamp: T, task: 5 }, 'task', 5],
      ['workers.get_all', { last_seen: 'x' }, 'last_seen', 'x'],
      ['workers.get_all', { last_seen: -1 }, 'last_seen', -1],
      ['workers.get_all', { last_seen: 1.5 }, 'last_seen', 1.5],
      ['workers.get_all', { worker_pattern: 5 }, 'worker_pattern', 5],
      ['workers.get_count', { system_tags: [true] }, 'system_tags.0', true],
      ['workers.get_metric_keys', { worker_ids: 'w' }, 'worker_ids', 'w'],
      ['workers.get_stats', { from_date: 0, to_date: 60, interval: 60, items: [{ key: 'cpu_usage' }], split_by_variant: 'yes' }, 'split_by_variant', 'yes'],
      ['workers.get_activity_report', { from_date: 'yesterday', to_date: 60, interval: 60 }, 'from_date', 'yesterday'],
    ])('%s with %j is 400/12 naming the field', async (endpoint, body, field, value) => {
      const result = await api.call(endpoint, body);

      expect(result.status).toBe(400);
      expect(result.meta.result_subcode).toBe(12);
      expect(result.meta.result_msg).toMatch(/^Validation error: invalid value /);
      expect(result.meta.result_msg).toContain(`${JSON.stringify(value)} for field '${field}'`);
      expect(result.meta.error_data).toEqual({ field, value });
      expect(result.data).toEqual({});
    });

    test.each([
      ['workers.register', {}, ['worker']],
      ['workers.register', { timeout: 60 }, ['worker']],
      ['workers.unregister', {}, ['worker']],
      ['workers.status_report', {}, ['worker', 'timestamp']],
      ['workers.status_report', { worker: 'w' }, ['timestamp']],
      ['workers.get_stats', {}, ['from_date', 'to_date', 'interval', 'items']],
      ['workers.get_stats', { from_date: 0, to_date: 60 }, ['interval', 'items']],
      ['workers.get_activity_report', {}, ['from_date', 'to_date', 'interval']],
      ['workers.get_activity_report', { from_date: null, to_date: 60, interval: 60 }, ['from_date']],
    ])('%s with %j is 400/11', async (endpoint, body, fields) => {
      const result = await api.call(endpoint, body);

      expect(result.status).toBe(400);
      expect(bodyOf(result)).toEqual(
        errorEnvelope(endpoint, 400, 11, `Missing required fields: ${fields.join(', ')}`, { fields }),
      );
    });
  });

  describe('server faults', () => {
    test('internal fault is 500/0 without a stack trace', async () => {
      const server = await startTestServer({ target });
      try {
        // A missing table makes every query fail the way a server bug would.
        await server.database.db.execute(sql`DROP TABLE workers`);

        const result = await sendApiRequest(server.url, { path: '/api/workers.get_count', body: '{}' });

        expect(result.status).toBe(500);
        expect(bodyOf(result)).toEqual(
          errorEnvelope('workers.get_count', 500, 0, 'Internal server error (details are in the server log)', {}, { actual: '2.30' }),
        );
        expect(result.text).not.toMatch(/relation|does not exist|DROP|\.ts:\d+/);
      } finally {
        await server.close();
      }
    });

    test.runIf(target === 'postgres')('unreachable database is 503/102', async () => {
      const server = await startTestServer({ target });
      try {
        // Ending the connection pool leaves the server running with no database to reach.
        await server.database.close();

        const result = await sendApiRequest(server.url, { path: '/api/workers.get_count', body: '{}' });

        expect(result.status).toBe(503);
        expect(bodyOf(result)).toEqual(
          errorEnvelope(
            'workers.get_count',
            503,
            102,
            'Service unavailable: the database cannot be reached, retry later',
            {},
            { actual: '2.30' },
          ),
        );
      } finally {
        // The database is already closed and dropped, so the second close only stops the
        // HTTP server and then fails on the ended connections.
        await server.close().catch(() => undefined);
      }
    });
  });
});
