import { isDeepStrictEqual } from 'node:util';

import type { DatabaseHandle } from '@/db/client';
import type { CallContext } from '@/lib/api/endpoint';
import { DEFAULT_COMPANY, DEFAULT_USER } from '@/lib/identity';
import { logger } from '@/lib/log';
import type { GetStatsRequest, GetStatsResponse } from '@/lib/schemas/workers';
import { updateRollupsUntilDone } from '@/lib/stats/jobs';
import { getStats, type StatsSource } from '@/lib/stats/service';

import { buildFleet } from '../scripts/demo/fleet';
import { seedHistory } from '../scripts/seed/history';
import { percentile, printFigure, progress, round } from './measure';

/** The fleet seed of the history, as the demo's default. */
const FLEET_SEED = 1;

export interface QueryBenchOptions {
  workers: number;
  days: number;
  periodSeconds: number;
  rollupRuns: number;
  rawRuns: number;
  /** Seconds of timed calls per source and interval, after which no new call starts. */
  budgetSeconds: number;
}

/** Timed calls made per source and interval even when they exceed the time budget. */
const MIN_ROLLUP_RUNS = 3;
const MIN_RAW_RUNS = 1;

/**
 * Seeds a history with the seed tool's code and refreshes the rollups. Then times
 * get_stats in-process for every worker over the whole history, 5 metrics, at intervals
 * of 3600 s and 300 s, from the rollups (`auto`) and from raw reports (`raw`), and checks
 * that both results are equal. Prints a `seed` figure and one `query` figure per interval.
 */
export async function benchQuery(handle: DatabaseHandle, options: QueryBenchOptions): Promise<void> {
  const endMs = Date.now();
  progress('seeding the query history', { workers: options.workers, days: options.days, period_s: options.periodSeconds });
  const seeded = await seedHistory(handle.db, {
    workers: options.workers,
    days: options.days,
    periodSeconds: options.periodSeconds,
    endMs,
    fleetSeed: FLEET_SEED,
    registrationTimeoutSeconds: 86_400,
    batchSize: 500,
    batchesPerTransaction: 4,
    concurrency: 3,
    log: logger.child({}, { level: 'warn' }),
  });
  progress('refreshing the rollups over the history', { reports: seeded.reports });
  const refreshStarted = performance.now();
  const refresh = await updateRollupsUntilDone(handle.db);
  const refreshSeconds = (performance.now() - refreshStarted) / 1000;
  printFigure('seed', {
    workers: seeded.workers,
    days: options.days,
    period_s: options.periodSeconds,
    reports: seeded.reports,
    seconds: round(seeded.seconds, 2),
    reports_per_second: Math.round(seeded.reports / seeded.seconds),
    refresh_reports: refresh.reports,
    refresh_seconds: round(refreshSeconds, 2),
  });

  const context: CallContext = {
    db: handle.db,
    companyId: DEFAULT_COMPANY.id,
    userId: DEFAULT_USER.id,
    now: new Date(endMs),
    clientIp: '127.0.0.1',
    requestId: 'bench-query',
    log: logger,
  };
  const workerIds = buildFleet(options.workers, FLEET_SEED).map((spec) => spec.id);
  const toSeconds = Math.floor(endMs / 1000);

  for (const interval of [3600, 300]) {
    const request: GetStatsRequest = {
      worker_ids: workerIds,
      from_date: toSeconds - Math.round(options.days * 86_400),
      to_date: toSeconds,
      interval,
      items: [
        { key: 'cpu_usage', aggregation: 'avg' },
        { key: 'gpu_usage', aggregation: 'avg' },
        { key: 'memory_used', aggregation: 'avg' },
        { key: 'gpu_temperature', aggregation: 'max' },
        { key: 'network_rx', aggregation: 'avg' },
      ],
    };
    const timed = async (source: StatsSource) => {
      const started = performance.now();
      const answer = await getStats(context, request, source);
      return { answer, ms: performance.now() - started };
    };

    progress('timing get_stats', { interval, rollup_runs: options.rollupRuns, raw_runs: options.rawRuns });
    // One unmeasured call warms the plan and the buffer cache for the rollup runs.
    const reference = (await timed('auto')).answer;
    const budgetMs = options.budgetSeconds * 1000;
    const withinBudget = (times: number[], minimum: number) =>
      times.length < minimum || times.reduce((sum, ms) => sum + ms, 0) < budgetMs;
    const rollupMs: number[] = [];
    let rollupAnswersEqual = true;
    for (let run = 0; run < options.rollupRuns && withinBudget(rollupMs, MIN_ROLLUP_RUNS); run++) {
      const { answer, ms } = await timed('auto');
      rollupMs.push(ms);
      rollupAnswersEqual &&= isDeepStrictEqual(answer, reference);
    }
    const rawMs: number[] = [];
    let rawAnswer: GetStatsResponse | undefined;
    for (let run = 0; run < options.rawRuns && withinBudget(rawMs, MIN_RAW_RUNS); run++) {
      const { answer, ms } = await timed('raw');
      rawMs.push(ms);
      rawAnswer ??= answer;
    }

    const rollupP50 = percentile(rollupMs, 0.5);
    const rawP50 = percentile(rawMs, 0.5);
    const speedup = rawP50 / rollupP50;
    printFigure('query', {
      interval_s: interval,
      workers: reference.workers.length,
      metrics: request.items.length,
      buckets: reference.workers.reduce((sum, worker) => sum + worker.metrics.reduce((inner, metric) => inner + metric.dates.length, 0), 0),
      rollup_runs: rollupMs.length,
      rollup_p50_ms: round(rollupP50),
      rollup_p99_ms: round(percentile(rollupMs, 0.99)),
      raw_runs: rawMs.length,
      raw_p50_ms: round(rawP50),
      raw_p99_ms: round(percentile(rawMs, 0.99)),
      speedup: round(speedup, 1),
      rollup_equals_raw: rollupAnswersEqual && isDeepStrictEqual(reference, rawAnswer),
      target_speedup: 20,
      target_p50_ms: 100,
      met: speedup >= 20 && rollupP50 < 100,
    });
  }
}
