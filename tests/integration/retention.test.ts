import { afterEach, describe, expect, test } from 'vitest';

import type { DatabaseHandle } from '@/db/client';
import { ensurePartitions, listPartitions } from '@/db/partitions';
import { selectWatermark } from '@/db/stats';
import { logger } from '@/lib/log';
import { applyRetention, jobSettingsFromEnv, startBackgroundJobs } from '@/lib/stats/jobs';

import { createTestDatabase, TEST_TARGETS } from '../helpers/database';

const NOW = new Date('2026-03-10T12:00:00.000Z');
const DAY_MS = 86_400_000;
const DEFAULTS = jobSettingsFromEnv({});

describe('jobSettingsFromEnv', () => {
  test('defaults', () => {
    expect(DEFAULTS).toEqual({
      WORKERS_REFRESH_SECONDS: 10,
      WORKERS_RETENTION_CHECK_SECONDS: 3600,
      WORKERS_RETENTION_RAW_DAYS: 7,
      WORKERS_RETENTION_MINUTE_DAYS: 30,
      WORKERS_RETENTION_HOUR_DAYS: 400,
    });
  });

  test('invalid value names the variable', () => {
    expect(() => jobSettingsFromEnv({ WORKERS_RETENTION_RAW_DAYS: '-1' })).toThrow(
      /^Invalid WORKERS_RETENTION_RAW_DAYS=-1: /,
    );
  });
});

describe.each(TEST_TARGETS)('retention on %s', (target) => {
  let handle: DatabaseHandle | undefined;

  afterEach(async () => {
    await handle?.close();
    handle = undefined;
  });

  test('drops expired partitions and creates upcoming ones', async () => {
    handle = await createTestDatabase(target);
    const days = [40, 8, 7, 6, 1].map((age) => new Date(NOW.getTime() - age * DAY_MS));
    await ensurePartitions(handle.db, 'reports', days);
    await ensurePartitions(handle.db, 'rollups_minute', days);
    await ensurePartitions(handle.db, 'rollups_hour', [new Date('2025-01-15T00:00:00Z'), NOW]);

    const result = await applyRetention(handle.db, NOW, DEFAULTS);

    expect(result.ran).toBe(true);
    expect(result.dropped.sort()).toEqual([
      'reports_d20260129',
      'reports_d20260302',
      'rollups_hour_m202501',
      'rollups_minute_d20260129',
    ]);
    // The partition of 7 days ago ends after the cutoff, so it stays.
    expect((await listPartitions(handle.db, 'reports')).map((partition) => partition.name)).toEqual([
      'reports_d20260303',
      'reports_d20260304',
      'reports_d20260309',
      'reports_d20260310',
      'reports_d20260311',
    ]);
    expect((await listPartitions(handle.db, 'rollups_hour')).map((partition) => partition.name)).toEqual([
      'rollups_hour_m202603',
    ]);
  });

  test('background refresh moves the watermark', async () => {
    handle = await createTestDatabase(target);
    const before = await selectWatermark(handle.db);

    const jobs = startBackgroundJobs(handle.db, logger, { ...DEFAULTS, WORKERS_REFRESH_SECONDS: 0.05 });
    try {
      await expect
        .poll(async () => BigInt(await selectWatermark(handle!.db)) > BigInt(before), { timeout: 10_000 })
        .toBe(true);
    } finally {
      await jobs.stop();
    }
  });
});
