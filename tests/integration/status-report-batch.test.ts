import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { queryRows, type DatabaseHandle } from '@/db/client';
import { storeStatusReport, type StatusReportWrite } from '@/db/status-reports';
import { upsertWorker } from '@/db/workers';
import { DEFAULT_COMPANY, DEFAULT_USER } from '@/lib/identity';
import { FLOAT4_MAX } from '@/lib/schemas/workers';
import { encodeSamples } from '@/lib/stats/layout';

import { createTestDatabase, TEST_TARGETS } from '../helpers/database';

// Status reports that arrive together are stored by one statement. These tests submit
// reports in one event loop turn, which puts them in one batch, and check that each
// report's outcome is its own.

const NOW = new Date('2026-01-01T01:00:00.000Z');
const REPORT_TIME = new Date('2026-01-01T00:59:30.000Z');

/** Builds the write of one report of the default company and user at REPORT_TIME. */
function reportOf(workerId: string, fields: Partial<StatusReportWrite> = {}): StatusReportWrite {
  return {
    companyId: DEFAULT_COMPANY.id,
    userId: DEFAULT_USER.id,
    workerId,
    ip: '10.0.0.1',
    now: NOW,
    time: REPORT_TIME,
    taskId: null,
    queueId: null,
    samples: encodeSamples({ cpu_usage: [10.5, 20.25], memory_used: 2048 }),
    ...fields,
  };
}

describe.each(TEST_TARGETS)('status report batches on %s', (target) => {
  let handle: DatabaseHandle;

  /** Registers a worker of the default company and user at NOW with a timeout of 600 s. */
  const register = (workerId: string, tags: string[] = []) =>
    upsertWorker(handle.db, {
      companyId: DEFAULT_COMPANY.id,
      userId: DEFAULT_USER.id,
      workerId,
      ip: '10.0.0.1',
      now: NOW,
      timeoutSeconds: 600,
      queues: [],
      tags,
      systemTags: [],
    });

  /** Counts the rows of a table that belong to a worker. */
  const countRows = async (table: 'reports' | 'worker_layouts', workerId: string) => {
    const [row] = await queryRows<{ count: number }>(
      handle.db,
      sql`SELECT count(*)::int AS count FROM ${sql.identifier(table)} WHERE worker_id = ${workerId}`,
    );

    return row.count;
  };

  beforeAll(async () => {
    handle = await createTestDatabase(target);
  });

  afterAll(async () => {
    await handle.close();
  });

  test('unknown worker fails alone in batch', async () => {
    await register('batch-a');
    await register('batch-b');

    const outcomes = await Promise.all([
      storeStatusReport(handle.db, reportOf('batch-a', { taskId: 'task-a' })),
      storeStatusReport(handle.db, reportOf('batch-unknown', { taskId: 'task-x' })),
      storeStatusReport(handle.db, reportOf('batch-b')),
    ]);

    expect(outcomes).toEqual([true, false, true]);
    expect(await countRows('reports', 'batch-a')).toBe(1);
    expect(await countRows('reports', 'batch-b')).toBe(1);
    expect(await countRows('reports', 'batch-unknown')).toBe(0);
    expect(await countRows('worker_layouts', 'batch-a')).toBe(1);
    expect(await countRows('worker_layouts', 'batch-unknown')).toBe(0);

    const entries = await queryRows<{ worker_id: string; task_id: string | null; last_report_time: Date | string }>(
      handle.db,
      sql`SELECT worker_id, task_id, last_report_time FROM workers WHERE worker_id LIKE 'batch-%' ORDER BY worker_id`,
    );
    expect(entries.map((entry) => [entry.worker_id, entry.task_id, new Date(entry.last_report_time).toISOString()])).toEqual([
      ['batch-a', 'task-a', NOW.toISOString()],
      ['batch-b', null, NOW.toISOString()],
    ]);
  });

  test('same worker twice keeps order', async () => {
    await register('twice-box');

    const outcomes = await Promise.all([
      storeStatusReport(handle.db, reportOf('twice-box', { taskId: 'first' })),
      storeStatusReport(handle.db, reportOf('twice-box', { taskId: 'second' })),
    ]);

    expect(outcomes).toEqual([true, true]);
    expect(await countRows('reports', 'twice-box')).toBe(2);
    const [entry] = await queryRows<{ task_id: string }>(handle.db, sql`SELECT task_id FROM workers WHERE worker_id = 'twice-box'`);
    expect(entry.task_id).toBe('second');
  });

  test('list elements round-trip exactly', async () => {
    const tags = ['a,b', 'quote"d', 'back\\slash', '{brace}', 'NULL', '', 'sp ace', 'ünï'];
    await register('tagged-box');
    await register('plain-box', ['kept']);

    const outcomes = await Promise.all([
      storeStatusReport(handle.db, reportOf('tagged-box', { tags, systemTags: ['s"1'], queues: ['q,1', 'q}2'] })),
      storeStatusReport(handle.db, reportOf('plain-box', { queues: [] })),
    ]);

    expect(outcomes).toEqual([true, true]);
    const entries = await queryRows<{ worker_id: string; tags: string[]; system_tags: string[]; queues: string[] }>(
      handle.db,
      sql`SELECT worker_id, tags, system_tags, queues FROM workers WHERE worker_id IN ('tagged-box', 'plain-box') ORDER BY worker_id`,
    );
    expect(entries).toEqual([
      { worker_id: 'plain-box', tags: ['kept'], system_tags: [], queues: [] },
      { worker_id: 'tagged-box', tags, system_tags: ['s"1'], queues: ['q,1', 'q}2'] },
    ]);
  });

  test('samples round-trip as float4', async () => {
    await register('float-box');
    await register('neighbour-box');
    // The float4 extremes: its max, a subnormal, and a value that rounds to 0.
    const samples = encodeSamples({
      cpu_usage: [0.1, 33.333333, 1e-7, 65504.5, FLOAT4_MAX, -FLOAT4_MAX, 1e-40, 1e-46],
      memory_used: 123456.78,
    });

    const outcomes = await Promise.all([
      storeStatusReport(handle.db, reportOf('float-box', { samples })),
      storeStatusReport(handle.db, reportOf('neighbour-box')),
    ]);

    expect(outcomes).toEqual([true, true]);

    const [row] = await queryRows<{ values: string }>(
      handle.db,
      sql`SELECT array_to_string("values"::float8[], ',') AS values FROM reports WHERE worker_id = 'float-box'`,
    );
    expect(row.values.split(',').map(Number)).toEqual(samples.values.map(Math.fround));
  });
});
