import { z } from 'zod';

import { compactChunks, deleteChunksBefore, type CompactionResult } from '@/db/chunks';
import { tryTransactionLock, type Database } from '@/db/client';
import { LOCK_KEYS } from '@/db/locks';
import { dropPartitionsBefore, ensurePartitions, type PartitionedTable } from '@/db/partitions';
import { refreshRollups, type RefreshResult } from '@/db/rollups';
import { isDatabaseUnavailable } from '@/lib/api/database-errors';
import type { Logger } from '@/lib/log';

const DAY_MS = 24 * 60 * 60 * 1000;


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
    // One retention run at a time across every instance on the database.
    if (!(await tryTransactionLock(transaction, LOCK_KEYS.retention))) {
      return { ran: false, dropped: [] };
    }

    const dropped: string[] = [];
    for (const [table, days] of Object.entries(retentionDays) as [PartitionedTable, number][]) {
      const cutoff = new Date(now.getTime() - days * DAY_MS);
      dropped.push(...(await dropPartitionsBefore(db, table, cutoff, transaction, table === 'reports')));
      if (table === 'rollups_five_minutes' || table === 'rollups_hour') {
        await deleteChunksBefore(transaction, table === 'rollups_hour' ? 'hour' : 'five_minutes', cutoff);
      }
    }

    return { ran: true, dropped };
  });
}

export interface RollupUpdateResult {
  /** Reports aggregated into the rollups. */
  reports: number;
  /** (worker, span) pairs whose series chunks were built. */
  compacted: number;
  /** Whether another instance held the lock, so this one skipped a step. */
  skipped: boolean;
  /** Whether work was left for another run: reports or ended spans past the round limit. */
  more: boolean;
}

/** Receives each refresh or compaction round of `updateRollups`, with its duration in milliseconds. */
export type RoundListener = (step: 'rollup_refresh' | 'chunk_compaction', result: RefreshResult | CompactionResult, durationMs: number) => void;

/** Refresh and compaction rounds in one run, so that a backlog of one cannot starve the other. */
const ROUNDS_PER_UPDATE = 10;

/**
 * Refreshes the rollups, then builds the series chunks of the spans that have ended, each
 * round in its own short transaction. A backlog is worked off over several calls: call
 * again at once while `more` is true.
 */
export async function updateRollups(
  db: Database,
  now: () => Date = () => new Date(),
  onRound: RoundListener = () => {},
): Promise<RollupUpdateResult> {
  const result: RollupUpdateResult = { reports: 0, compacted: 0, skipped: false, more: false };

  for (let round = 0; ; round++) {
    const started = performance.now();
    const refresh = await refreshRollups(db);
    onRound('rollup_refresh', refresh, performance.now() - started);
    result.reports += refresh.reports;
    result.skipped ||= !refresh.ran;
    if (!refresh.ran || !refresh.more) {
      break;
    }
    if (round + 1 === ROUNDS_PER_UPDATE) {
      result.more = true;
      break;
    }
  }

  for (let round = 0; ; round++) {
    const started = performance.now();
    const compaction = await compactChunks(db, now());
    onRound('chunk_compaction', compaction, performance.now() - started);
    result.compacted += compaction.compacted;
    result.skipped ||= !compaction.ran;
    if (!compaction.ran || !compaction.more) {
      break;
    }
    if (round + 1 === ROUNDS_PER_UPDATE) {
      result.more = true;
      break;
    }
  }

  return result;
}

/** Runs `updateRollups` until no work is left, for the tools that refresh on demand. */
export async function updateRollupsUntilDone(db: Database): Promise<RollupUpdateResult> {
  const total: RollupUpdateResult = { reports: 0, compacted: 0, skipped: false, more: true };
  while (total.more) {
    const result = await updateRollups(db);
    total.reports += result.reports;
    total.compacted += result.compacted;
    total.skipped ||= result.skipped;
    total.more = result.more && !result.skipped;
  }

  return total;
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

  // A job returning `{ more: true }` left work behind and runs again at once.
  const schedule = (name: string, seconds: number, job: () => Promise<unknown>) => {
    const run = async () => {
      if (stopped) {
        return;
      }
      const started = performance.now();
      let delaySeconds = seconds;
      try {
        const result = await job();
        if ((result as { more?: boolean } | undefined)?.more) {
          delaySeconds = 0;
        }
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
        }, delaySeconds * 1000);
        timer.unref();
        timers.add(timer);
      }
    };

    start(run);
  };

  schedule('retention', settings.WORKERS_RETENTION_CHECK_SECONDS, () => applyRetention(db, new Date(), settings));
  // Each round is logged on its own, so that the log shows every watermark range.
  const logRound: RoundListener = (step, result, durationMs) =>
    logger.debug({ job: step, result, duration_ms: Math.round(durationMs) }, 'job finished');
  schedule('rollup_update', settings.WORKERS_REFRESH_SECONDS, () => updateRollups(db, () => new Date(), logRound));

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
