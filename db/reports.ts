import { sql } from 'drizzle-orm';

import type { EncodedSamples } from '@/lib/stats/layout';
import { EMPTY_LAYOUT_ID } from '@/lib/stats/layout';

import { queryPrepared, type Database, type Executor } from './client';
import { ensurePartitions, forgetPartitions, isMissingPartition } from './partitions';
import { layouts, reports, workerLayouts } from './schema';

export interface ReportRow {
  companyId: string;
  workerId: string;
  /** The report's own timestamp. */
  time: Date;
  taskId: string | null;
  samples: EncodedSamples;
}

/**
 * Layouts and (worker, layout) pairs known to be stored, per database handle, so that the
 * hot path inserts only the report row. Keys are added after their transaction commits.
 */
const storedLayoutKeys = new WeakMap<object, Set<string>>();

function storedKeys(db: Database): Set<string> {
  let keys = storedLayoutKeys.get(db);
  if (!keys) {
    keys = new Set();
    storedLayoutKeys.set(db, keys);
  }

  return keys;
}

interface NewLayoutRows {
  layouts: Map<string, { companyId: string; id: number; series: number[]; metrics: number[] }>;
  pairs: Map<string, { companyId: string; workerId: string; layoutId: number }>;
}

/** Collects the layouts and (worker, layout) pairs of `rows` that this handle has not stored yet, by key. */
function newLayoutRows(db: Database, rows: readonly Pick<ReportRow, 'companyId' | 'workerId' | 'samples'>[]): NewLayoutRows {
  const known = storedKeys(db);
  const found: NewLayoutRows = { layouts: new Map(), pairs: new Map() };
  for (const row of rows) {
    const { layoutId, series, metrics } = row.samples;
    if (layoutId === EMPTY_LAYOUT_ID) {
      continue;
    }
    const layoutKey = `layout\u0000${row.companyId}\u0000${layoutId}`;
    if (!known.has(layoutKey)) {
      found.layouts.set(layoutKey, { companyId: row.companyId, id: layoutId, series, metrics });
    }
    const pairKey = `pair\u0000${row.companyId}\u0000${row.workerId}\u0000${layoutId}`;
    if (!known.has(pairKey)) {
      found.pairs.set(pairKey, { companyId: row.companyId, workerId: row.workerId, layoutId });
    }
  }

  return found;
}

/**
 * Stores reports in one multi-row INSERT inside the caller's transaction, with the
 * layouts and (worker, layout) pairs they need. Returns the layout keys to remember once
 * the transaction has committed (pass them to `rememberLayouts`).
 */
export async function insertReports(db: Database, transaction: Executor, rows: readonly ReportRow[]): Promise<string[]> {
  if (rows.length === 0) {
    return [];
  }

  const { layouts: newLayouts, pairs: newPairs } = newLayoutRows(db, rows);
  if (newLayouts.size > 0) {
    await transaction.insert(layouts).values([...newLayouts.values()]).onConflictDoNothing();
  }
  if (newPairs.size > 0) {
    await transaction.insert(workerLayouts).values([...newPairs.values()]).onConflictDoNothing();
  }

  await transaction.insert(reports).values(
    rows.map((row) => ({
      companyId: row.companyId,
      workerId: row.workerId,
      time: row.time,
      taskId: row.taskId,
      layoutId: row.samples.layoutId,
      values: row.samples.values,
    })),
  );

  return [...newLayouts.keys(), ...newPairs.keys()];
}

export interface StatusReportWrite extends ReportRow {
  userId: string;
  ip: string;
  /** The server's time of the call: last activity and the start of the new expiry. */
  now: Date;
  queueId: string | null;
  /** Replaces the entry's queues when non-empty. */
  queues?: string[];
  /** Replace the entry's tags when given. */
  tags?: string[];
  systemTags?: string[];
}

// The worker entry update of a status report, as the first part of one statement: only a
// live entry matches, and the report rows below select from its RETURNING, so a report of
// a worker that is not registered inserts nothing. A NULL list keeps the stored one.
const UPDATE_WORKER_SQL = `WITH updated AS (
  UPDATE workers SET
    ip = $4::text,
    last_activity_time = $5::timestamptz,
    last_report_time = $5::timestamptz,
    expires_at = $5::timestamptz + make_interval(secs => timeout_seconds),
    task_id = $6::text,
    project_id = NULL,
    queue_id = $7::text,
    queues = coalesce($8::text[], queues),
    tags = coalesce($9::text[], tags),
    system_tags = coalesce($10::text[], system_tags)
  WHERE company_id = $1::text AND user_id = $2::text AND worker_id = $3::text AND expires_at > $5::timestamptz
  RETURNING company_id, worker_id
), stored AS (
  INSERT INTO reports (company_id, worker_id, time, task_id, layout_id, values)
  SELECT company_id, worker_id, $11::timestamptz, $6::text, $12::bigint, $13::real[] FROM updated
)`;

const STORE_STATUS_REPORT_SQL = `${UPDATE_WORKER_SQL}
SELECT count(*)::int AS updated FROM updated`;

// The same with the layout and the (worker, layout) pair, for the first report of a layout
// that this process has seen.
const STORE_STATUS_REPORT_WITH_LAYOUT_SQL = `${UPDATE_WORKER_SQL}, new_layout AS (
  INSERT INTO layouts (company_id, id, series, metrics)
  SELECT company_id, $12::bigint, $14::smallint[], $15::smallint[] FROM updated
  ON CONFLICT DO NOTHING
), new_pair AS (
  INSERT INTO worker_layouts (company_id, worker_id, layout_id)
  SELECT company_id, worker_id, $12::bigint FROM updated
  ON CONFLICT DO NOTHING
)
SELECT count(*)::int AS updated FROM updated`;

/**
 * Applies a status report to a live worker entry, extending its expiry by its own
 * timeout, and stores the report row, in one statement: one round trip, atomic without
 * an explicit transaction. Creates the report's day partition when it is missing.
 * Returns false, having stored nothing, when the worker is not registered or has expired.
 */
export async function storeStatusReport(db: Database, report: StatusReportWrite): Promise<boolean> {
  const { layouts: newLayouts, pairs: newPairs } = newLayoutRows(db, [report]);
  const withLayout = newLayouts.size > 0 || newPairs.size > 0;
  const nowText = report.now.toISOString();
  const params: unknown[] = [
    report.companyId,
    report.userId,
    report.workerId,
    report.ip,
    nowText,
    report.taskId,
    report.queueId,
    report.queues && report.queues.length > 0 ? report.queues : null,
    report.tags ?? null,
    report.systemTags ?? null,
    report.time.toISOString(),
    report.samples.layoutId,
    report.samples.values,
  ];
  if (withLayout) {
    params.push(report.samples.series, report.samples.metrics);
  }

  const [row] = await withReportPartitions(db, [report.time], () =>
    queryPrepared<{ updated: number }>(db, withLayout ? STORE_STATUS_REPORT_WITH_LAYOUT_SQL : STORE_STATUS_REPORT_SQL, params),
  );
  if (row?.updated !== 1) {
    return false;
  }

  rememberLayouts(db, [...newLayouts.keys(), ...newPairs.keys()]);
  return true;
}

/** Marks layout keys as stored, after the transaction that inserted them committed. */
export function rememberLayouts(db: Database, keys: readonly string[]): void {
  const known = storedKeys(db);
  for (const key of keys) {
    known.add(key);
  }
}

/**
 * Runs a write of reports, creating their day partitions when the write fails for lack
 * of one, and then retrying it once. Partitions are created only for writes that get as
 * far as the insert, so a rejected report (an unknown worker) creates none. The
 * retention job creates today's and tomorrow's ahead, so live reports rarely retry.
 * `write` must be a whole transaction, so that a failed attempt stored nothing.
 */
export async function withReportPartitions<T>(db: Database, times: readonly Date[], write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (!isMissingPartition(error)) {
      throw error;
    }
    forgetPartitions(db);
    await ensurePartitions(db, 'reports', times);
    return write();
  }
}

/** Counts the stored reports of a company, for tests and tools. */
export async function countReports(db: Executor, companyId: string): Promise<number> {
  const result = await db.select({ count: sql<number>`count(*)::int` }).from(reports).where(sql`${reports.companyId} = ${companyId}`);

  return Number(result[0]?.count ?? 0);
}

/** Forgets the layout keys cached for a handle, after its tables were emptied outside the service. */
export function forgetStoredLayouts(db: Database): void {
  storedLayoutKeys.delete(db);
}
