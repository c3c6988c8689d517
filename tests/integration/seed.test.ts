import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { queryRows, type DatabaseHandle } from '@/db/client';
import { countReports } from '@/db/reports';
import { DEFAULT_COMPANY } from '@/lib/identity';
import { logger } from '@/lib/log';

import { seedHistory, type SeedResult } from '../../scripts/seed/history';
import { createTestDatabase, TEST_TARGETS } from '../helpers/database';

/** 2026-01-01T00:00:00Z in milliseconds: a multiple of the period, as is the history's start. */
const END_MS = Date.UTC(2026, 0, 1);
const WORKERS = 3;
const PERIOD_SECONDS = 60;
/** Two hours, a multiple of the period, so each worker writes exactly 120 reports. */
const DAYS = 2 / 24;
const REPORTS_PER_WORKER = 120;

describe.each(TEST_TARGETS)('seed on %s', (target) => {
  let handle: DatabaseHandle;
  let result: SeedResult;

  beforeAll(async () => {
    handle = await createTestDatabase(target);
    result = await seedHistory(handle.db, {
      workers: WORKERS,
      days: DAYS,
      periodSeconds: PERIOD_SECONDS,
      endMs: END_MS,
      fleetSeed: 1,
      registrationTimeoutSeconds: 600,
      // Small odd batches, so that transactions end mid-step and the last one is partial.
      batchSize: 7,
      batchesPerTransaction: 3,
      concurrency: handle.kind === 'postgres' ? 2 : 1,
      log: logger,
    });
  }, 60_000);

  afterAll(async () => {
    await handle?.close();
  });

  test('seedHistory returns the exact report count', () => {
    expect(result.workers).toBe(WORKERS);
    expect(result.reports).toBe(WORKERS * REPORTS_PER_WORKER);
  });

  test('seedHistory stores every report', async () => {
    expect(await countReports(handle.db, DEFAULT_COMPANY.id)).toBe(WORKERS * REPORTS_PER_WORKER);

    const perWorker = await queryRows<{ worker_id: string; reports: number; first: Date | string; last: Date | string }>(
      handle.db,
      sql`SELECT worker_id, count(*)::int AS reports, min(time) AS first, max(time) AS last
          FROM reports GROUP BY worker_id ORDER BY worker_id`,
    );
    expect(perWorker.map((row) => row.worker_id).sort()).toEqual(['demo-cpu-01:cpu', 'demo-gpu-01:gpu0', 'demo-gpu-02:gpu0,1,2,3,4,5,6,7']);
    for (const row of perWorker) {
      expect(row.reports, row.worker_id).toBe(REPORTS_PER_WORKER);
      expect(new Date(row.first).getTime(), row.worker_id).toBeGreaterThanOrEqual(END_MS - DAYS * 86_400_000);
      expect(new Date(row.last).getTime(), row.worker_id).toBeLessThan(END_MS);
    }
  });

  test('seedHistory registers workers with their newest report', async () => {
    const entries = await queryRows<{ worker_id: string; last_report_time: Date | string; expires_at: Date | string }>(
      handle.db,
      sql`SELECT worker_id, last_report_time, expires_at FROM workers ORDER BY worker_id`,
    );

    expect(entries).toHaveLength(WORKERS);
    for (const entry of entries) {
      expect(new Date(entry.last_report_time).toISOString(), entry.worker_id).toBe(new Date(END_MS).toISOString());
      expect(new Date(entry.expires_at).toISOString(), entry.worker_id).toBe(new Date(END_MS + 600_000).toISOString());
    }
  });
});
