import { sql } from 'drizzle-orm';

import type { EncodedSamples } from '@/lib/stats/layout';
import { EMPTY_LAYOUT_ID } from '@/lib/stats/layout';

import type { Database, Executor } from './client';
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

/** Returns the layout keys that this handle has stored, as `layoutKeysOf` makes them. */
export function storedKeys(db: Database): Set<string> {
  let keys = storedLayoutKeys.get(db);
  if (!keys) {
    keys = new Set();
    storedLayoutKeys.set(db, keys);
  }

  return keys;
}

/** Returns the keys of a report's layout and of its (worker, layout) pair, or none for a report without samples. */
export function layoutKeysOf(row: Pick<ReportRow, 'companyId' | 'workerId' | 'samples'>): string[] {
  const { layoutId } = row.samples;
  if (layoutId === EMPTY_LAYOUT_ID) {
    return [];
  }

  return [`layout\u0000${row.companyId}\u0000${layoutId}`, `pair\u0000${row.companyId}\u0000${row.workerId}\u0000${layoutId}`];
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
    const [layoutKey, pairKey] = layoutKeysOf(row);
    if (!known.has(layoutKey)) {
      found.layouts.set(layoutKey, { companyId: row.companyId, id: layoutId, series, metrics });
    }
    if (!known.has(pairKey)) {
      found.pairs.set(pairKey, { companyId: row.companyId, workerId: row.workerId, layoutId });
    }
  }

  return found;
}

/** Compares two keys column by column, as any consistent order will do. */
function compareKeys(a: readonly (string | number)[], b: readonly (string | number)[]): number {
  for (let index = 0; index < a.length; index++) {
    if (a[index] !== b[index]) {
      return a[index] < b[index] ? -1 : 1;
    }
  }

  return 0;
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

  // Rows are inserted in key order, so two transactions that insert the same new layouts
  // wait for each other instead of deadlocking.
  const { layouts: newLayouts, pairs: newPairs } = newLayoutRows(db, rows);
  if (newLayouts.size > 0) {
    const ordered = [...newLayouts.values()].sort((a, b) => compareKeys([a.companyId, a.id], [b.companyId, b.id]));
    await transaction.insert(layouts).values(ordered).onConflictDoNothing();
  }
  if (newPairs.size > 0) {
    const ordered = [...newPairs.values()].sort((a, b) =>
      compareKeys([a.companyId, a.workerId, a.layoutId], [b.companyId, b.workerId, b.layoutId]),
    );
    await transaction.insert(workerLayouts).values(ordered).onConflictDoNothing();
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
