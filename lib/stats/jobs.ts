import { sql } from 'drizzle-orm';
import { z } from 'zod';

import { queryRows, type Database } from '@/db/client';
import { dropPartitionsBefore, ensurePartitions, type PartitionedTable } from '@/db/partitions';
import { refreshRollups, type RefreshResult } from '@/db/rollups';
import { isDatabaseUnavailable } from '@/lib/api/database-errors';
import type { Logger } from '@/lib/log';

const DAY_MS = 24 * 60 * 60 * 1000;

// One retention run at a time across every instance on the database.
const RETENTION_LOCK_KEY = 7_261_003;

/** Background job settings, from the environment. */
export const jobSettingsSchema = z.object({
  /** Seconds between two incremental rollup refreshes. */
  WORKERS_REFRESH_SECONDS: z.coerce.number().positive().default(10),
  /** Seconds between two retention runs. */
  WORKERS_RETENTION_CHECK_SECONDS: z.coerce.number().positive().default(3600),
  /** Days raw reports are kept. */
  WORKERS_RETENTION_RAW_DAYS: z.coerce.number().positive().default(7),
  /** Days per-minute and five-minute rollups are kept. */
  WORKERS_RETENTION_MINUTE_DAYS: z.coerce.number().positive().default(30),
  /** Days hourly rollups are kept. */
  WORKERS_RETENTION_HOUR_DAYS: z.coerce.number().positive().default(400),
});
export type JobSettings = z.infer<typeof jobSettingsSchema>;

/** Reads the job settings, raising an error that names the invalid variable. */
export function jobSettingsFromEnv(env: Record<string, string | undefined> = process.env): JobSettings {
  const result = jobSettingsSchema.safeParse(env);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(`Invalid ${String(issue.path[0])}=${String(env[String(issue.path[0])])}: ${issue.message}`);
  }

  return result.data;
}

export interface RetentionResult {
  /** False when another instance held the retention lock, so nothing was dropped. */
  ran: boolean;
  dropped: string[];
}

/**
 * Drops the partitions older than each table's retention, and creates today's and
 * tomorrow's partitions ahead of the reports. A partition is dropped only when all of its
 * range is older than the retention, so data is kept up to one partition longer.
 */
export async function applyRetention(db: Database, now: Date, settings: JobSettings): Promise<RetentionResult> {
  const upcoming = [now, new Date(now.getTime() + DAY_MS)];
  await ensurePartitions(db, 'reports', upcoming);
  await ensurePartitions(db, 'rollups_minute', upcoming);
  await ensurePartitions(db, 'rollups_five_minutes', upcoming);
  await ensurePartitions(db, 'rollups_hour', upcoming);

  const retentionDays: Record<PartitionedTable, number> = {
    reports: settings.WORKERS_RETENTION_RAW_DAYS,
    rollups_minute: settings.WORKERS_RETENTION_MINUTE_DAYS,
    rollups_five_minutes: settings.WORKERS_RETENTION_MINUTE_DAYS,
    rollups_hour: settings.WORKERS_RETENTION_HOUR_DAYS,
  };

  return db.transaction(async (transaction) => {
    const [lock] = await queryRows<{ locked: boolean }>(
      transaction,
      sql`SELECT pg_try_advisory_xact_lock(${RETENTION_LOCK_KEY}) AS locked`,
    );
    if (!lock?.locked) {
      return { ran: false, dropped: [] };
    }

    const dropped: string[] = [];
    for (const [table, days] of Object.entries(retentionDays) as [PartitionedTable, number][]) {
      const cutoff = new Date(now.getTime() - days * DAY_MS);
      dropped.push(...(await dropPartitionsBefore(db, table, cutoff, transaction, table === 'reports')));
    }

    return { ran: true, dropped };
  });
}

export interface BackgroundJobs {
  /** Stops scheduling and waits for a running job to finish. */
  stop(): Promise<void>;
}

/**
 * Runs the rollup refresh and the retention in the background of the server process.
 * Each job takes a PostgreSQL advisory lock, so with several instances on one database
 * one of them runs it at a time, and the others skip that round.
 */
export function startBackgroundJobs(db: Database, logger: Logger, settings: JobSettings): BackgroundJobs {
  let stopped = false;
  const inFlight = new Set<Promise<void>>();
  const timers = new Set<NodeJS.Timeout>();

  const start = (run: () => Promise<void>) => {
    const promise = run().finally(() => inFlight.delete(promise));
    inFlight.add(promise);
  };

  const schedule = (name: string, seconds: number, job: () => Promise<unknown>) => {
    const run = async () => {
      if (stopped) {
        return;
      }
      const started = performance.now();
      try {
        const result = await job();
        logger.debug({ job: name, result, duration_ms: Math.round(performance.now() - started) }, 'job finished');
      } catch (error) {
        if (isDatabaseUnavailable(error)) {
          logger.warn({ job: name, err: error }, 'job skipped: database unavailable');
        } else {
          logger.error({ job: name, err: error }, 'job failed');
        }
      }
      if (!stopped) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          start(run);
        }, seconds * 1000);
        timer.unref();
        timers.add(timer);
      }
    };

    start(run);
  };

  schedule('retention', settings.WORKERS_RETENTION_CHECK_SECONDS, () => applyRetention(db, new Date(), settings));
  schedule('rollup_refresh', settings.WORKERS_REFRESH_SECONDS, (): Promise<RefreshResult> => refreshRollups(db));

  return {
    stop: async () => {
      stopped = true;
      for (const timer of timers) {
        clearTimeout(timer);
      }
      await Promise.allSettled([...inFlight]);
    },
  };
}
