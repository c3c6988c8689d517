import { sql, type Logger as QueryLogger } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';

import { queryRows, type Database } from '@/db/client';
import { forgetStoredLayouts } from '@/db/reports';
import { DEFAULT_COMPANY, DEFAULT_USER } from '@/lib/identity';

import { callApi, TestClock, type ApiCallResult, type CallOptions } from '../helpers/api';
import type { TestTarget } from '../helpers/database';
import { startTestServer, type TestServer } from '../helpers/server';

/** The fixed clock reading every test starts from. */
export const START = '2026-01-01T00:00:00.000Z';

/** START in seconds since the epoch. It is a multiple of 86400, so buckets of 60, 100 or 3600 s start on it. */
export const T = Date.parse(START) / 1000;

/** A registration timeout (seconds) long enough that no test outlives it unless it means to. */
export const LONG_TIMEOUT = 1_000_000;

export const COMPANY = DEFAULT_COMPANY;
export const USER = DEFAULT_USER;

/** ISO 8601 text of `T + seconds`, as the API writes times. */
export function isoAt(seconds: number): string {
  return new Date((T + seconds) * 1000).toISOString();
}

/** The worker key the API returns for a worker of the default company and user. */
export function keyOf(workerId: string, userId: string = USER.id, companyId: string = COMPANY.id): string {
  return `worker_${companyId}_${userId}_${workerId}`;
}

export interface ApiFixture {
  readonly url: string;
  readonly server: TestServer;
  readonly db: Database;
  readonly clock: TestClock;
  call(endpoint: string, body?: unknown, options?: CallOptions): Promise<ApiCallResult>;
}

/**
 * Starts one test server for the enclosing describe block and gives each test an empty
 * worker store and the clock at START. Companies, users and credentials other than the
 * default identity's are removed between tests, so tests that seed them start clean too.
 */
export function useApiServer(target: TestTarget, options: { trustProxy?: boolean; queryLogger?: QueryLogger } = {}): ApiFixture {
  const clock = new TestClock(START);
  let server: TestServer | undefined;

  const running = (): TestServer => {
    if (!server) {
      throw new Error('the test server is not running: useApiServer must be called inside a describe block');
    }
    return server;
  };

  beforeAll(async () => {
    server = await startTestServer({ target, now: clock.now, trustProxy: options.trustProxy ?? false, queryLogger: options.queryLogger });
  });

  afterAll(async () => {
    await server?.close();
  });

  beforeEach(async () => {
    clock.set(START);

    const db = running().database.db;
    await db.execute(
      sql`TRUNCATE workers, reports, layouts, worker_layouts, rollups_minute, rollups_five_minutes, rollups_hour, queue_entries, queues, tasks, projects`,
    );
    await db.execute(sql`UPDATE rollup_state SET watermark = '0', refreshed_at = NULL`);
    // The service caches which layouts are stored; the truncation above emptied them.
    forgetStoredLayouts(db);
    await db.execute(sql`DELETE FROM credentials WHERE company_id <> ${COMPANY.id} OR user_id <> ${USER.id}`);
    await db.execute(sql`DELETE FROM users WHERE company_id <> ${COMPANY.id} OR id <> ${USER.id}`);
    await db.execute(sql`DELETE FROM companies WHERE id <> ${COMPANY.id}`);
  });

  return {
    get url() {
      return running().url;
    },
    get server() {
      return running();
    },
    get db() {
      return running().database.db;
    },
    clock,
    call: (endpoint, body, callOptions) => callApi(running().url, endpoint, body, callOptions),
  };
}

/** Fails with the envelope's message unless the call returned 200. */
export function expectOk(result: ApiCallResult): void {
  expect(
    { status: result.status, code: result.meta.result_code, subcode: result.meta.result_subcode },
    `${result.meta.endpoint.name} returned ${result.status}: ${result.meta.result_msg}`,
  ).toEqual({ status: 200, code: 200, subcode: 0 });
}

/** Registers a worker with a long timeout unless `fields` sets one, and checks the 200. */
export async function registerWorker(api: ApiFixture, worker: string, fields: Record<string, unknown> = {}): Promise<void> {
  expectOk(await api.call('workers.register', { worker, timeout: LONG_TIMEOUT, ...fields }));
}

/** Sends a status report timestamped now (seconds) unless `fields` sets the timestamp, and checks the 200. */
export async function reportStatus(api: ApiFixture, worker: string, fields: Record<string, unknown> = {}): Promise<void> {
  expectOk(await api.call('workers.status_report', { worker, timestamp: api.clock.seconds(), ...fields }));
}

/** Creates a queue through queues.create, checks the 200 and returns its id. */
export async function createQueue(api: ApiFixture, name: string, fields: Record<string, unknown> = {}): Promise<string> {
  const result = await api.call('queues.create', { name, ...fields });
  expectOk(result);

  return result.data.id as string;
}

/** Creates a task of type training through tasks.create, checks the 200 and returns its id. */
export async function createTask(api: ApiFixture, name: string, fields: Record<string, unknown> = {}): Promise<string> {
  const result = await api.call('tasks.create', { name, type: 'training', ...fields });
  expectOk(result);

  return result.data.id as string;
}

/** Creates a project through projects.create, checks the 200 and returns its id. */
export async function createProject(api: ApiFixture, name: string): Promise<string> {
  const result = await api.call('projects.create', { name });
  expectOk(result);

  return result.data.id as string;
}

/** The ids get_all returns for `body`, sorted, after checking the 200. */
export async function listedIds(api: ApiFixture, body: Record<string, unknown> = {}): Promise<string[]> {
  const result = await api.call('workers.get_all', body);
  expectOk(result);

  return (result.data.workers as { id: string }[]).map((worker) => worker.id).sort();
}

/** The count get_count returns for `body`, after checking the 200. */
export async function countedWorkers(api: ApiFixture, body: Record<string, unknown> = {}): Promise<number> {
  const result = await api.call('workers.get_count', body);
  expectOk(result);

  return result.data.count as number;
}

/** Builds the expected envelope of an error response. */
export function errorEnvelope(
  endpoint: string,
  code: number,
  subcode: number,
  message: string | ReturnType<typeof expect.stringMatching>,
  errorData: Record<string, unknown>,
  versions: { requested?: string; actual?: string | null } = {},
) {
  return {
    meta: {
      id: expect.stringMatching(/^[0-9a-f]{32}$/),
      trx: expect.stringMatching(/^[0-9a-f]{32}$/),
      endpoint: { name: endpoint, requested_version: versions.requested ?? '2.30', actual_version: versions.actual === undefined ? expect.any(String) : versions.actual },
      result_code: code,
      result_subcode: subcode,
      result_msg: message,
      error_stack: null,
      error_data: errorData,
    },
    data: {},
  };
}

/** Returns the parsed body of a call, for comparison with errorEnvelope. */
export function bodyOf(result: ApiCallResult): { meta: unknown; data: unknown } {
  return { meta: result.meta, data: result.data };
}

/**
 * Returns every stored worker entry, report, queue, task and project, in a fixed order,
 * so that a test can compare the store before and after a rejected request.
 */
export async function storedRows(
  api: ApiFixture,
): Promise<{ workers: unknown[]; reports: unknown[]; queues: unknown[]; tasks: unknown[]; projects: unknown[] }> {
  const workers = await queryRows(api.db, sql`SELECT * FROM workers ORDER BY company_id, user_id, worker_id`);
  const reports = await queryRows(api.db, sql`SELECT * FROM reports ORDER BY company_id, worker_id, time, xid`);
  const queues = await queryRows(api.db, sql`SELECT * FROM queues ORDER BY company_id, id`);
  const tasks = await queryRows(api.db, sql`SELECT * FROM tasks ORDER BY company_id, id`);
  const projects = await queryRows(api.db, sql`SELECT * FROM projects ORDER BY company_id, id`);

  return { workers, reports, queues, tasks, projects };
}

/**
 * One valid request of every workers endpoint for worker `w`, and of the catalog
 * endpoints that need no id made by the service, in an order that succeeds when sent one
 * after the other: register first, unregister last. The workers requests name no queue
 * or task, because those ids exist only once the service has made them.
 */
export const VALID_REQUESTS: readonly (readonly [endpoint: string, body: Record<string, unknown>])[] = [
  ['workers.register', { worker: 'w', timeout: LONG_TIMEOUT, tags: ['gpu'], system_tags: ['linux'] }],
  ['workers.status_report', { worker: 'w', timestamp: T, tags: ['gpu'], machine_stats: { cpu_usage: [10, 20], memory_used: 512 } }],
  ['workers.get_all', { last_seen: 0, tags: ['gpu'], worker_pattern: 'w*' }],
  ['workers.get_count', { system_tags: ['-windows'] }],
  ['workers.get_metric_keys', { worker_ids: ['w'] }],
  [
    'workers.get_stats',
    { worker_ids: ['w'], from_date: T - 3600, to_date: T + 3600, interval: 60, items: [{ key: 'cpu_usage', aggregation: 'max' }], split_by_variant: true },
  ],
  ['workers.get_activity_report', { from_date: T - 3600, to_date: T + 3600, interval: 60 }],
  ['queues.create', { name: 'gpu-queue', tags: ['gpu'] }],
  ['queues.get_all', { name: 'gpu\\-queue', only_fields: ['name'] }],
  ['tasks.create', { name: 'train resnet', type: 'training' }],
  ['tasks.get_all', { status: ['created'] }],
  ['projects.create', { name: 'vision' }],
  ['projects.get_all', { name: 'vis' }],
  ['workers.unregister', { worker: 'w' }],
];

/** Ids in the shape the service makes (32 hex characters) that name no stored object. */
const UNKNOWN_QUEUE = 'a'.repeat(32);
const UNKNOWN_TASK = 'b'.repeat(32);

/**
 * One well-formed request of every endpoint that VALID_REQUESTS leaves out: those that
 * name a queue or task by id, here ids no test stored, so they return 400 envelopes
 * (101 or 701-707), and auth.login.
 */
export const UNKNOWN_ID_REQUESTS: readonly (readonly [endpoint: string, body: Record<string, unknown>])[] = [
  ['auth.login', { expiration_sec: 3600 }],
  ['queues.get_by_id', { queue: UNKNOWN_QUEUE }],
  ['queues.update', { queue: UNKNOWN_QUEUE, name: 'renamed', tags: ['gpu'] }],
  ['queues.delete', { queue: UNKNOWN_QUEUE, force: true }],
  ['queues.add_task', { queue: UNKNOWN_QUEUE, task: UNKNOWN_TASK }],
  ['queues.remove_task', { queue: UNKNOWN_QUEUE, task: UNKNOWN_TASK }],
  ['queues.get_default', { only_fields: ['name'] }],
  ['queues.get_next_task', { queue: UNKNOWN_QUEUE }],
  ['tasks.get_by_id', { task: UNKNOWN_TASK }],
  ['tasks.started', { task: UNKNOWN_TASK, force: false }],
  ['tasks.stopped', { task: UNKNOWN_TASK }],
  ['tasks.completed', { task: UNKNOWN_TASK }],
  ['tasks.failed', { task: UNKNOWN_TASK }],
  ['tasks.edit', { task: UNKNOWN_TASK, name: 'renamed', last_iteration: 10 }],
  ['tasks.delete', { task: UNKNOWN_TASK, force: true }],
];
