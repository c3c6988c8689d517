import fc from 'fast-check';
import { describe, expect, test } from 'vitest';

import { envelopeMetaSchema } from '@/lib/schemas/envelope';

import { sendRawRequest } from '../helpers/api';
import { TEST_TARGETS } from '../helpers/database';

import { LONG_TIMEOUT, storedRows, UNKNOWN_ID_REQUESTS, useApiServer, VALID_REQUESTS } from './fixtures';

/** Requests per target database: 500 took about 6 s on PGlite and on PostgreSQL on 2 cores. */
const RUNS = Number(process.env.PROPERTY_RUNS ?? 300);

/** Seed of the random requests: a failure prints it, and PROPERTY_SEED=<seed> repeats the run. */
const SEED = Number(process.env.PROPERTY_SEED ?? Math.floor(Math.random() * 2 ** 31));

// Number texts that JSON.stringify cannot write: they are put into the body as strings
// marked with RAW_PREFIX and unquoted after serialisation.
const RAW_PREFIX = '\u0001raw:';
const RAW_NUMBERS = ['1e400', '-1e400', '1e-400', '-0', '123456789012345678901234567890', '0.1e1', '1E+2'];

/** Endpoints that change stored workers or reports. */
const WRITING_ENDPOINTS = new Set([
  'workers.register',
  'workers.unregister',
  'workers.status_report',
  'queues.create',
  'tasks.create',
  'projects.create',
]);

/** Values that validation must reject or store safely: wrong types, extremes, odd text, nesting. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, -0.5, 1e308, -1e308, 2 ** 53 + 1, Number.MIN_VALUE, '', 'NaN', 'Infinity', '-1', '1e400', '__proto__', [], {}),
  fc.constantFrom(...RAW_NUMBERS).map((text) => `${RAW_PREFIX}${text}`),
  fc.double(),
  fc.integer(),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.string({ minLength: 120, maxLength: 300 }),
  fc.constantFrom('<script>alert(1)</script>', "'; DROP TABLE workers; --", '%_[*?', '\u0000', '\ud800', 'a\u202eb', '😀'.repeat(200)),
  fc.array(fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.constant(null)), { maxLength: 5 }),
  fc.array(fc.string({ maxLength: 5 }), { minLength: 99, maxLength: 102 }),
  fc.jsonValue({ maxDepth: 4 }),
  fc.integer({ min: 1, max: 40 }).map((depth) => JSON.parse(`${'['.repeat(depth)}1${']'.repeat(depth)}`) as unknown),
);

type Body = Record<string, unknown>;

/** One change to a valid body. */
const mutation: fc.Arbitrary<(body: Body) => void> = fc.oneof(
  fc.tuple(fc.nat(), hostileValue).map(([index, value]) => (body: Body) => {
    const keys = Object.keys(body);
    if (keys.length > 0) body[keys[index % keys.length]] = value;
  }),
  fc.nat().map((index) => (body: Body) => {
    const keys = Object.keys(body);
    if (keys.length > 0) delete body[keys[index % keys.length]];
  }),
  fc.tuple(fc.nat(), fc.nat(), hostileValue).map(([fieldIndex, itemIndex, value]) => (body: Body) => {
    // Changes one element of a list field, or one field of an object field.
    const nested = Object.values(body).filter((field): field is Body | unknown[] => typeof field === 'object' && field !== null);
    if (nested.length === 0) return;
    const target = nested[fieldIndex % nested.length];
    if (Array.isArray(target)) {
      target[itemIndex % Math.max(target.length, 1)] = value;
    } else {
      const keys = Object.keys(target);
      target[keys.length > 0 ? keys[itemIndex % keys.length] : 'cpu_usage'] = value;
    }
  }),
  fc.tuple(fc.constantFrom('is_daemon', '__proto__', 'constructor', 'worker_id', 'machine_stats', 'x'.repeat(300)), hostileValue).map(
    ([key, value]) =>
      (body: Body) => {
        Object.defineProperty(body, key, { value, enumerable: true, configurable: true, writable: true });
      },
  ),
);

/** A request body as text: a mutated valid body, or text that is no JSON object at all. */
const bodyText = (valid: Body): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 8, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 4 }).map((changes) => serialise(valid, changes)) },
    { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
    { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 50 }), fc.constantFrom('{', '{"worker": "w"', '[]', 'null', '"w"', '\uFEFF{}', '{"a":1}{}')) },
  );

function serialise(valid: Body, changes: ((body: Body) => void)[]): string {
  const body = structuredClone(valid);
  for (const change of changes) {
    change(body);
  }

  return JSON.stringify(body).replace(/"\\u0001raw:([^"]*)"/g, '$1');
}

const requestArbitrary = fc
  .constantFrom(...VALID_REQUESTS, ...UNKNOWN_ID_REQUESTS)
  .chain(([endpoint, valid]) =>
    fc.record({
      endpoint: fc.constant(endpoint),
      body: bodyText(valid),
      method: fc.constantFrom('POST', 'GET', 'PUT') as fc.Arbitrary<'POST' | 'GET' | 'PUT'>,
      // get_count starts at 2.26, so lower versions would return 404 for it.
      prefix: fc.constantFrom('/api/', '/api/v2.26/', '/api/v2.30/', '/api/v999.0/'),
      query: fc.option(
        fc.tuple(fc.constantFrom(...Object.keys(valid)), fc.string({ maxLength: 20 })).map(([key, value]) => `?${key}=${encodeURIComponent(value)}`),
        { freq: 4, nil: '' },
      ),
    }),
  );

describe.each(TEST_TARGETS)('random request bodies on %s', (target) => {
  const api = useApiServer(target);

  test('every response is an envelope, nothing half stored', { timeout: 120_000 }, async () => {
    const run = fc.assert(
      fc.asyncProperty(requestArbitrary, async (request) => {
        // A registered worker, so that valid reports and unregisters reach the database.
        if (request.endpoint === 'workers.status_report' || request.endpoint === 'workers.unregister') {
          await api.call('workers.register', { worker: 'w', timeout: LONG_TIMEOUT });
        }
        const before = await storedRows(api);

        const response = await sendRawRequest(api.url, {
          method: request.method,
          path: `${request.prefix}${request.endpoint}${request.query}`,
          body: request.body,
        });

        const parsed = JSON.parse(response.text) as { meta: unknown; data: unknown };
        const meta = envelopeMetaSchema.parse(parsed.meta);
        expect([200, 400], meta.result_msg).toContain(response.status);
        expect(meta.result_code).toBe(response.status);
        expect(meta.error_stack).toBeNull();
        if (response.status !== 200) {
          expect(parsed.data).toEqual({});
        }
        if (response.status !== 200 || !WRITING_ENDPOINTS.has(request.endpoint)) {
          expect(await storedRows(api)).toEqual(before);
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );

    try {
      await run;
    } catch (error) {
      throw new Error(`random requests failed with seed ${SEED} (rerun with PROPERTY_SEED=${SEED}): ${(error as Error).message}`, { cause: error });
    }
  });
});
