import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { queryRows, type DatabaseHandle } from '@/db/client';
import { dropPartitionsBefore } from '@/db/partitions';
import { insertReports, rememberLayouts, withReportPartitions, type ReportRow } from '@/db/reports';
import { CHUNK_GRACE_SECONDS, compactChunks } from '@/db/chunks';
import { refreshRollups } from '@/db/rollups';
import type { CallContext } from '@/lib/api/endpoint';
import { DEFAULT_COMPANY, DEFAULT_USER } from '@/lib/identity';
import { logger } from '@/lib/log';
import type { GetStatsRequest, MachineStats } from '@/lib/schemas/workers';
import { encodeSamples } from '@/lib/stats/layout';
import { applyRetention, jobSettingsFromEnv } from '@/lib/stats/jobs';
import { getActivityReport, getStats } from '@/lib/stats/service';

import { createTestDatabase, TEST_TARGETS } from '../helpers/database';

/** 2026-01-01T00:00:00Z in seconds. */
const START = 1_767_225_600;
const HOURS = 3;

/** A small deterministic generator (mulberry32), so that a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;

  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);

    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Believable samples with values of several magnitudes and decimals, zeros included. */
function machineStats(next: () => number, cores: number, gpus: number): MachineStats {
  const percent = () => Math.round(next() * 10_000) / 100;
  const stats: MachineStats = {
    cpu_usage: Array.from({ length: cores }, percent),
    memory_used: Math.round(next() * 64_000 * 1000) / 1000,
    network_rx: next() < 0.2 ? 0 : next() * 1e-3,
  };
  if (gpus > 0) {
    stats.gpu_usage = Array.from({ length: gpus }, percent);
  }

  return stats;
}

/** Reports of three workers with irregular periods over HOURS hours, some naming a task. */
function generateReports(seed: number): ReportRow[] {
  const next = random(seed);
  const workers = [
    { id: 'w-a:gpu0,1', cores: 4, gpus: 2 },
    { id: 'w-b:cpu', cores: 2, gpus: 0 },
    { id: 'w-c:gpu0', cores: 3, gpus: 1 },
  ];
  const rows: ReportRow[] = [];
  for (const worker of workers) {
    for (let time = START + next() * 20; time < START + HOURS * 3600; time += 7 + next() * 50) {
      // A quarter of the reports carry no stats, as daemons send when a task starts or ends.
      const stats = next() < 0.25 ? undefined : machineStats(next, worker.cores, worker.gpus);
      rows.push({
        companyId: DEFAULT_COMPANY.id,
        workerId: worker.id,
        time: new Date(Math.round(time * 1000)),
        taskId: next() < 0.4 ? 'task-1' : null,
        samples: encodeSamples(stats),
      });
    }
  }

  return rows;
}

async function store(handle: DatabaseHandle, rows: ReportRow[]): Promise<void> {
  for (let start = 0; start < rows.length; start += 500) {
    const batch = rows.slice(start, start + 500);
    const keys = await withReportPartitions(
      handle.db,
      batch.map((row) => row.time),
      () => handle.db.transaction((transaction) => insertReports(handle.db, transaction, batch)),
    );
    rememberLayouts(handle.db, keys);
  }
}

/** Counts the reports not yet in the rollups. */
async function reportsAboveWatermark(handle: DatabaseHandle): Promise<number> {
  const [row] = await queryRows<{ count: number | string }>(
    handle.db,
    sql`SELECT count(*) AS count FROM reports WHERE xid >= (SELECT watermark FROM rollup_state WHERE name = 'rollups')`,
  );

  return Number(row?.count ?? 0);
}

/**
 * Refreshes until every stored report is in the rollups. A refresh stops at the oldest
 * transaction still running anywhere on the server, so on a shared PostgreSQL server
 * another session's transaction can hold one round back.
 */
async function refreshUntilCaughtUp(handle: DatabaseHandle): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    await refreshRollups(handle.db);
    const remaining = await reportsAboveWatermark(handle);
    if (remaining === 0) {
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(`${remaining} reports still above the watermark after 30 s of refreshes`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const INTERVALS = [1, 7, 45, 60, 90, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 86_400];

describe.each(TEST_TARGETS)('rollups on %s', (target) => {
  let handle: DatabaseHandle;
  let context: CallContext;

  beforeAll(async () => {
    handle = await createTestDatabase(target);
    context = {
      db: handle.db,
      companyId: DEFAULT_COMPANY.id,
      userId: DEFAULT_USER.id,
      now: new Date((START + HOURS * 3600) * 1000),
      clientIp: '127.0.0.1',
      requestId: 'rollups-test',
      log: logger,
    };

    // Half the reports are refreshed into the rollups, the rest stay in the raw tail, and
    // a few late reports land in buckets that the rollups already have.
    const rows = generateReports(42);
    const firstHalf = rows.filter((_, index) => index % 2 === 0);
    const secondHalf = rows.filter((_, index) => index % 2 === 1);
    await store(handle, firstHalf);
    await refreshUntilCaughtUp(handle);
    await store(handle, secondHalf.slice(0, secondHalf.length / 2));
    await refreshUntilCaughtUp(handle);
    await store(handle, secondHalf.slice(secondHalf.length / 2));
    expect(await reportsAboveWatermark(handle)).toBe(secondHalf.length - Math.floor(secondHalf.length / 2));
  }, 120_000);

  afterAll(async () => {
    await handle?.close();
  });

  test('get_stats from rollups equals raw on random ranges', async () => {
    const next = random(7);
    for (let trial = 0; trial < 60; trial++) {
      const interval = INTERVALS[Math.floor(next() * INTERVALS.length)];
      const from = START - 600 + Math.floor(next() * HOURS * 3600) + (next() < 0.5 ? 0 : Math.round(next() * 1000) / 1000);
      const to = Math.min(from + 60 + next() * HOURS * 3600, from + interval * 5000);
      const request: GetStatsRequest = {
        from_date: from,
        to_date: to,
        interval,
        items: [
          { key: 'cpu_usage', aggregation: 'avg' },
          { key: 'cpu_usage', aggregation: 'max' },
          { key: 'memory_used', aggregation: 'min' },
          { key: 'memory_used', aggregation: 'avg' },
          { key: 'gpu_usage', aggregation: 'avg' },
          { key: 'network_rx', aggregation: 'avg' },
        ],
        split_by_variant: next() < 0.5,
      };

      const fromRollups = await getStats(context, request, 'auto');
      const fromRaw = await getStats(context, request, 'raw');

      expect(fromRollups, JSON.stringify({ trial, from, to, interval })).toEqual(fromRaw);
    }
  }, 120_000);

  test('get_activity_report from rollups equals raw', async () => {
    const next = random(11);
    for (let trial = 0; trial < 30; trial++) {
      const interval = [40, 60, 120, 600, 3600, 7200][Math.floor(next() * 6)];
      const from = START - 600 + Math.floor(next() * HOURS * 3600) + Math.round(next() * 1000) / 1000;
      const to = from + 120 + next() * HOURS * 3600;
      const request = { from_date: from, to_date: to, interval };

      expect(await getActivityReport(context, request, 'auto'), JSON.stringify(request)).toEqual(
        await getActivityReport(context, request, 'raw'),
      );
    }
  }, 60_000);

  test('hourly answers survive dropping raw reports', async () => {
    await refreshUntilCaughtUp(handle);
    const request: GetStatsRequest = {
      from_date: START,
      to_date: START + HOURS * 3600,
      interval: 3600,
      items: [{ key: 'cpu_usage', aggregation: 'avg' }],
    };
    const before = await getStats(context, request, 'auto');
    expect(before.workers.map((worker) => worker.worker)).toEqual(['w-a:gpu0,1', 'w-b:cpu', 'w-c:gpu0']);

    // Raw retention drops whole days; every hour asked for is in the rollups.
    await dropPartitionsBefore(handle.db, 'reports', new Date((START + 86_400) * 1000));
    const after = await getStats(context, request, 'auto');
    const raw = await getStats(context, request, 'raw');

    expect(after).toEqual(before);
    expect(raw.workers).toEqual([]);
  });
});

/** Reports every five minutes or so over two days, to fill several chunks of each rollup. */
function generateSparseReports(seed: number, fromSeconds: number, toSeconds: number): ReportRow[] {
  const next = random(seed);
  const rows: ReportRow[] = [];
  for (const worker of [
    { id: 'chunk-a', cores: 2, gpus: 1 },
    { id: 'chunk-b', cores: 3, gpus: 0 },
  ]) {
    for (let time = fromSeconds + next() * 100; time < toSeconds; time += 120 + next() * 400) {
      rows.push({
        companyId: DEFAULT_COMPANY.id,
        workerId: worker.id,
        time: new Date(Math.round(time * 1000)),
        taskId: null,
        samples: encodeSamples(next() < 0.1 ? undefined : machineStats(next, worker.cores, worker.gpus)),
      });
    }
  }

  return rows;
}

async function countRows(handle: DatabaseHandle, table: string): Promise<number> {
  const [row] = await queryRows<{ count: number | string }>(handle.db, sql`SELECT count(*) AS count FROM ${sql.raw(table)}`);

  return Number(row?.count ?? 0);
}

/** Returns the distinct ends of cover (seconds) of a worker's hourly chunks of one day. */
async function chunkCoverage(handle: DatabaseHandle, worker: string, dayStart: number): Promise<number[]> {
  const rows = await queryRows<{ until: number | string }>(
    handle.db,
    sql`SELECT DISTINCT extract(epoch FROM complete_before)::float8 AS until FROM chunks_hour
        WHERE worker_id = ${worker} AND chunk_start = to_timestamp(${dayStart}::float8)`,
  );

  return rows.map((row) => Number(row.until));
}

describe.each(TEST_TARGETS)('series chunks on %s', (target) => {
  const DAYS = 2;
  let handle: DatabaseHandle;
  let context: CallContext;

  /** Compares rollups with raw at the chunked widths over random ranges. */
  async function expectChunkedEqualsRaw(seed: number, trials: number): Promise<void> {
    const next = random(seed);
    for (let trial = 0; trial < trials; trial++) {
      const interval = [300, 300, 3600, 3600, 600, 60][Math.floor(next() * 6)];
      const from = START - 3600 + next() * DAYS * 86_400;
      const to = next() < 0.3 ? START + DAYS * 86_400 + 3600 : from + 600 + next() * DAYS * 86_400;
      const request: GetStatsRequest = {
        from_date: from,
        to_date: to,
        interval,
        items: [
          { key: 'cpu_usage', aggregation: 'avg' },
          { key: 'cpu_usage', aggregation: 'max' },
          { key: 'memory_used', aggregation: 'min' },
          { key: 'gpu_usage', aggregation: 'avg' },
          { key: 'network_rx', aggregation: 'avg' },
        ],
        worker_ids: next() < 0.5 ? ['chunk-a', 'chunk-b'] : undefined,
      };

      // Calls at once share the pool of decoding memory and the second connections.
      const raw = await getStats(context, request, 'raw');
      const concurrent = await Promise.all([1, 2, 3].map(() => getStats(context, request, 'auto')));
      for (const answer of concurrent) {
        expect(answer, JSON.stringify({ trial, from, to, interval })).toEqual(raw);
      }
    }
  }

  beforeAll(async () => {
    handle = await createTestDatabase(target);
    context = {
      db: handle.db,
      companyId: DEFAULT_COMPANY.id,
      userId: DEFAULT_USER.id,
      now: new Date((START + DAYS * 86_400) * 1000),
      clientIp: '127.0.0.1',
      requestId: 'chunks-test',
      log: logger,
    };
  }, 60_000);

  afterAll(async () => {
    await handle?.close();
  });

  test('chunked answers equal raw through compaction, late reports and tail', async () => {
    const rows = generateSparseReports(5, START, START + DAYS * 86_400);
    const late = rows.filter((_, index) => index % 10 === 3);
    const tail = rows.filter((_, index) => index % 10 === 7);
    const early = rows.filter((_, index) => index % 10 !== 3 && index % 10 !== 7);

    // Every span has ended: compaction builds every chunk and empties the queue.
    await store(handle, early);
    await refreshUntilCaughtUp(handle);
    expect(await countRows(handle, 'chunk_queue')).toBeGreaterThan(0);
    const afterSpans = new Date((START + DAYS * 86_400 + 86_400 + CHUNK_GRACE_SECONDS) * 1000);
    for (let round = 0; (await compactChunks(handle.db, afterSpans)).more; round++) {
      expect(round).toBeLessThan(20);
    }
    expect(await countRows(handle, 'chunk_queue')).toBe(0);
    expect(await countRows(handle, 'chunks_five_minutes')).toBeGreaterThan(0);
    expect(await countRows(handle, 'chunks_hour')).toBeGreaterThan(0);
    await expectChunkedEqualsRaw(1, 20);

    // Late reports land in compacted spans: the refresh queues those spans again and
    // deletes their chunks, so their rollup rows are read.
    await store(handle, late);
    await refreshUntilCaughtUp(handle);
    expect(await countRows(handle, 'chunk_queue')).toBeGreaterThan(0);
    await expectChunkedEqualsRaw(2, 20);

    // Reports still in the raw tail make their spans read from rollup rows, chunk or not.
    await compactChunks(handle.db, afterSpans);
    await store(handle, tail);
    expect(await reportsAboveWatermark(handle)).toBe(tail.length);
    await expectChunkedEqualsRaw(3, 20);

    // A span that has not ended yet stays queued.
    await refreshUntilCaughtUp(handle);
    const duringLastDay = new Date((START + DAYS * 86_400 - 3600) * 1000);
    await compactChunks(handle.db, duringLastDay);
    const [queued] = await queryRows<{ count: number | string }>(
      handle.db,
      sql`SELECT count(*) AS count FROM chunk_queue WHERE source = 'hour' AND chunk_start = to_timestamp(${START + 86_400})`,
    );
    expect(Number(queued?.count)).toBe(2);
    await expectChunkedEqualsRaw(4, 10);

    // The running day got a partial chunk, covering the hours that ended ten minutes
    // before compaction: up to two hours before the day's end.
    const coveredUntil = START + DAYS * 86_400 - 7200;
    expect(await chunkCoverage(handle, 'chunk-a', START + 86_400)).toEqual([coveredUntil]);
    expect(await chunkCoverage(handle, 'chunk-b', START + 86_400)).toEqual([coveredUntil]);

    // A report after the covered hours keeps the partial chunk; one inside them deletes it.
    const reportAt = (worker: string, seconds: number): ReportRow => ({
      companyId: DEFAULT_COMPANY.id,
      workerId: worker,
      time: new Date(seconds * 1000),
      taskId: null,
      samples: encodeSamples(machineStats(random(9), 2, 1)),
    });
    await store(handle, [reportAt('chunk-a', coveredUntil + 1800)]);
    await refreshUntilCaughtUp(handle);
    expect(await chunkCoverage(handle, 'chunk-a', START + 86_400)).toEqual([coveredUntil]);
    await expectChunkedEqualsRaw(5, 10);

    await store(handle, [reportAt('chunk-a', coveredUntil - 1800)]);
    await refreshUntilCaughtUp(handle);
    expect(await chunkCoverage(handle, 'chunk-a', START + 86_400)).toEqual([]);
    expect(await chunkCoverage(handle, 'chunk-b', START + 86_400)).toEqual([coveredUntil]);
    await expectChunkedEqualsRaw(6, 10);
  }, 240_000);

  test('retention deletes expired chunks', async () => {
    const settings = jobSettingsFromEnv({});
    expect(await countRows(handle, 'chunks_five_minutes')).toBeGreaterThan(0);

    // Five-minute data expires after 30 days and hourly data after 400.
    await applyRetention(handle.db, new Date((START + 40 * 86_400) * 1000), settings);
    expect(await countRows(handle, 'chunks_five_minutes')).toBe(0);
    expect(await countRows(handle, 'chunks_hour')).toBeGreaterThan(0);

    await applyRetention(handle.db, new Date((START + 410 * 86_400) * 1000), settings);
    expect(await countRows(handle, 'chunks_hour')).toBe(0);
    expect(await countRows(handle, 'chunk_queue')).toBe(0);
  }, 60_000);
});
