import { describe, expect, test } from 'vitest';

import { sendApiRequest } from '../helpers/api';
import { TEST_TARGETS } from '../helpers/database';

import { bodyOf, countedWorkers, errorEnvelope, expectOk, listedIds, registerWorker, T, useApiServer } from './fixtures';

/** Builds a JSON array nested `depth` levels deep, `[[[...]]]`, without recursion. */
function nestedArrayText(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

/** Nesting depth of the deep bodies: 200,000 levels fit in 400 KB, well under the 1 MiB limit. */
const DEEP = 200_000;

describe.each(TEST_TARGETS)('hostile request bodies on %s', (target) => {
  const api = useApiServer(target);

  describe('encoding', () => {
    // Files saved as UTF-8 by Windows tools often start with a byte order mark, and
    // Python's json.loads accepts one in bytes input, so a body read from such a file works
    // against a Python server.
    test('UTF-8 byte order mark before the JSON is accepted', async () => {
      const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify({ worker: 'bom-worker' }))]);

      const result = await sendApiRequest(api.url, { path: '/api/workers.register', body });

      expect(result.status).toBe(200);
      expect(await listedIds(api)).toEqual(['bom-worker']);
    });

    // A lone UTF-16 surrogate has no UTF-8 form, so the driver sends U+FFFD in its place.
    // The id is then not stored as sent, and "\ud800x" and "\udc00x" become one worker.
    test('worker id with a lone surrogate is 400/12', async () => {
      const result = await api.call('workers.register', { worker: '\ud800x' });

      expect(result.status).toBe(400);
      expect(result.meta.result_subcode).toBe(12);
      expect(result.meta.error_data).toEqual({ field: 'worker', value: '\ud800x' });
      expect(await countedWorkers(api)).toBe(0);
    });
  });

  describe('deep nesting', () => {
    test('deeply nested unknown field is ignored', async () => {
      const body = `{"is_daemon": true, "nested": ${nestedArrayText(DEEP)}}`;

      const result = await sendApiRequest(api.url, { path: '/api/workers.get_count', body });

      expect(result.status).toBe(200);
      expect(result.data).toEqual({ count: 0 });
    });

    test('deeply nested known field is 400/12', async () => {
      const body = `{"tags": ${nestedArrayText(DEEP)}}`;

      const result = await sendApiRequest(api.url, { path: '/api/workers.get_count', body });

      expect(result.status).toBe(400);
      expect(result.meta.result_subcode).toBe(12);
    });

    test('deeply nested object in machine_stats is 400/12', async () => {
      await registerWorker(api, 'w');
      const depth = DEEP / 2;
      const body = `{"worker": "w", "timestamp": ${T}, "machine_stats": {"cpu_usage": ${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}}`;

      const result = await sendApiRequest(api.url, { path: '/api/workers.status_report', body });

      expect(result.status).toBe(400);
      expect(result.meta.result_subcode).toBe(12);
    });
  });

  // PostgreSQL text cannot hold U+0000, so a NUL that reaches the database fails the query.
  // The API must reject it as a validation error naming the field, as it does in worker ids.
  describe('NUL characters in strings', () => {
    test.each([
      ['workers.register', { worker: 'w', tags: ['gpu\u0000'] }, 'tags.0'],
      ['workers.register', { worker: 'w', system_tags: ['\u0000'] }, 'system_tags.0'],
      ['workers.register', { worker: 'w', queues: ['queue\u0000a'] }, 'queues.0'],
      ['workers.status_report', { worker: 'w', timestamp: T, task: 'task\u0000' }, 'task'],
      ['workers.status_report', { worker: 'w', timestamp: T, queue: '\u0000' }, 'queue'],
      ['workers.status_report', { worker: 'w', timestamp: T, tags: ['\u0000'] }, 'tags.0'],
      ['workers.get_all', { worker_pattern: 'w\u0000*' }, 'worker_pattern'],
      ['workers.get_all', { tags: ['-\u0000'] }, 'tags.0'],
      ['workers.get_count', { system_tags: ['\u0000'] }, 'system_tags.0'],
      ['workers.get_metric_keys', { worker_ids: ['w\u0000'] }, 'worker_ids.0'],
      ['workers.get_stats', { worker_ids: ['\u0000'], from_date: T, to_date: T + 60, interval: 60, items: [{ key: 'cpu_usage' }] }, 'worker_ids.0'],
    ])('%s with %j is 400/12 naming the field', async (endpoint, body, field) => {
      await registerWorker(api, 'w');

      const result = await api.call(endpoint, body);

      expect(result.status).toBe(400);
      expect(result.meta.result_subcode).toBe(12);
      expect(result.meta.error_data.field).toBe(field);
    });
  });

  describe('__proto__ keys', () => {
    // JSON.parse makes `__proto__` an own key, and copying it by assignment turns it into
    // the prototype, so fields hidden under it reach validation as inherited fields.
    test('fields under a __proto__ key are not read', async () => {
      const body = '{"__proto__": {"worker": "hidden-worker", "timeout": 60}}';

      const result = await sendApiRequest(api.url, { path: '/api/workers.register', body });

      expect(bodyOf(result)).toEqual(
        errorEnvelope('workers.register', 400, 11, 'Missing required fields: worker', { fields: ['worker'] }, { actual: '2.22' }),
      );
      expect(await countedWorkers(api)).toBe(0);
    });

    test('machine_stats under a __proto__ key store no samples', async () => {
      await registerWorker(api, 'w');
      const body = `{"worker": "w", "timestamp": ${T}, "machine_stats": {"__proto__": {"cpu_usage": 5}}}`;

      expectOk(await sendApiRequest(api.url, { path: '/api/workers.status_report', body }));

      const keys = await api.call('workers.get_metric_keys', {});
      expect(keys.status).toBe(400);
      expect(keys.meta.result_subcode).toBe(1005);
    });
  });

  describe('numbers beyond the JSON range', () => {
    // 1e400 parses to Infinity, which JSON.stringify writes as null. The message must not
    // claim that the caller sent null.
    test.each([
      ['workers.register', '{"worker": "w", "timeout": 1e400}', 'timeout'],
      ['workers.get_all', '{"last_seen": 1e400}', 'last_seen'],
      ['workers.status_report', '{"worker": "w", "timestamp": -1e400}', 'timestamp'],
    ])('%s with %s names the value', async (endpoint, body, field) => {
      await registerWorker(api, 'w');

      const result = await sendApiRequest(api.url, { path: `/api/${endpoint}`, body });

      expect(result.status).toBe(400);
      expect(result.meta.result_subcode).toBe(12);
      expect(result.meta.error_data.field).toBe(field);
      expect(result.meta.error_data.value).not.toBeNull();
      expect(result.meta.result_msg).not.toContain('invalid value null');
    });
  });

  describe('versions', () => {
    // A well-formed version above the newest is served by the newest, however large.
    test('version v99999.0 is served by the newest', async () => {
      const result = await sendApiRequest(api.url, { path: '/api/v99999.0/workers.get_count', body: '{}' });

      expect(result.status).toBe(200);
      expect(result.meta.endpoint).toEqual({ name: 'workers.get_count', requested_version: '99999.0', actual_version: '2.30' });
    });
  });
});
