import type { DatabaseHandle } from '@/db/client';
import { compactChunks } from '@/db/chunks';
import { countReports, type ReportRow } from '@/db/reports';
import { refreshRollups } from '@/db/rollups';
import { DEFAULT_COMPANY } from '@/lib/identity';
import { updateRollupsUntilDone } from '@/lib/stats/jobs';
import { encodeSamples } from '@/lib/stats/layout';

import { BatchWriter } from '../scripts/seed/history';
import { printFigure, progress, round } from './measure';
import { benchMachineStats, benchTaskId, benchWorkerId, seededRandom } from './payload';

/** One minute at 500 reports/s: 5000 workers reporting every 10 s. */
const WORKERS = 5000;
const PERIOD_MS = 10_000;
const MINUTE_MS = 60_000;
const PAYLOAD_VARIANTS = 32;

/** Runs incremental refreshes until every finished report is in the rollups; returns the reports aggregated. */
async function refreshAll(handle: DatabaseHandle): Promise<{ reports: number }> {
  let reports = 0;
  for (;;) {
    const result = await refreshRollups(handle.db);
    reports += result.reports;
    if (!result.ran || !result.more) {
      return { reports };
    }
  }
}

/**
 * Times the incremental rollup refresh after one minute of reports at 500 reports/s,
 * the refresh right after it with nothing new, and the compaction after them. The
 * minute is the one before now (not aligned to a minute, so each worker touches two
 * minute buckets), written with the service's ingestion code on top of whatever history
 * the database holds.
 */
export async function benchRefresh(handle: DatabaseHandle): Promise<void> {
  // Rollups start up to date, so the measured refresh aggregates only the new minute.
  await updateRollupsUntilDone(handle.db);
  const historyReports = await countReports(handle.db, DEFAULT_COMPANY.id);

  const random = seededRandom(7);
  const samples = Array.from({ length: PAYLOAD_VARIANTS }, () => encodeSamples(benchMachineStats(random)));
  const startMs = Date.now() - MINUTE_MS;
  const rows: ReportRow[] = [];
  for (let step = 0; step < MINUTE_MS / PERIOD_MS; step++) {
    for (let index = 0; index < WORKERS; index++) {
      // Workers are spread evenly over the period, so reports arrive at a steady rate.
      const timeMs = startMs + step * PERIOD_MS + Math.floor((index * PERIOD_MS) / WORKERS);
      rows.push({
        companyId: DEFAULT_COMPANY.id,
        workerId: benchWorkerId('refresh', index),
        time: new Date(timeMs),
        taskId: index % 2 === 0 ? benchTaskId(index) : null,
        samples: samples[(index + step) % samples.length],
      });
    }
  }

  progress('writing one minute of reports', { reports: rows.length, workers: WORKERS });
  const writeStarted = performance.now();
  const writer = new BatchWriter(handle.db, { batchSize: 500, batchesPerTransaction: 4, concurrency: 3 }, rows.length);
  for (const row of rows) {
    await writer.add(row);
  }
  await writer.flush();
  const writeSeconds = (performance.now() - writeStarted) / 1000;

  const refreshStarted = performance.now();
  const refresh = await refreshAll(handle);
  const refreshMs = performance.now() - refreshStarted;

  const idleStarted = performance.now();
  const idle = await refreshAll(handle);
  const idleMs = performance.now() - idleStarted;

  // The compaction that follows builds partial chunks of the running spans of every
  // worker, which each pair needs at most once an hour.
  const compactionStarted = performance.now();
  const compaction = await compactChunks(handle.db, new Date());
  const compactionMs = performance.now() - compactionStarted;

  printFigure('refresh', {
    history_reports: historyReports,
    reports: rows.length,
    workers: WORKERS,
    write_seconds: round(writeSeconds, 2),
    refresh_reports: refresh.reports,
    refresh_ms: round(refreshMs),
    idle_refresh_reports: idle.reports,
    idle_refresh_ms: round(idleMs, 2),
    all_reports_aggregated: refresh.reports === rows.length,
    compaction_pairs: compaction.compacted,
    compaction_ms: round(compactionMs),
  });
}
