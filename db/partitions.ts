import { sql } from 'drizzle-orm';

import { findPostgresError, queryRows, type Database, type Executor } from './client';
import { LOCK_KEYS } from './locks';

/**
 * Native time partitions of the tables that grow with time. Reports and per-minute and
 * five-minute rollups are partitioned by day, hourly rollups by month, all in UTC. Partitions are
 * created on demand before rows go in, and retention drops whole partitions.
 */
export const PARTITIONED_TABLES = {
  reports: 'day',
  rollups_minute: 'day',
  rollups_five_minutes: 'day',
  rollups_hour: 'month',
} as const;

export type PartitionedTable = keyof typeof PARTITIONED_TABLES;

export interface Partition {
  table: PartitionedTable;
  name: string;
  from: Date;
  to: Date;
}

/** Returns the partition of `table` that contains `time`. */
export function partitionFor(table: PartitionedTable, time: Date): Partition {
  const year = time.getUTCFullYear();
  const month = time.getUTCMonth();

  if (PARTITIONED_TABLES[table] === 'month') {
    const from = new Date(Date.UTC(year, month, 1));
    const to = new Date(Date.UTC(year, month + 1, 1));
    const suffix = `${year}${String(month + 1).padStart(2, '0')}`;
    return { table, name: `${table}_m${suffix}`, from, to };
  }

  const day = time.getUTCDate();
  const from = new Date(Date.UTC(year, month, day));
  const to = new Date(Date.UTC(year, month, day + 1));
  const suffix = `${year}${String(month + 1).padStart(2, '0')}${String(day).padStart(2, '0')}`;

  return { table, name: `${table}_d${suffix}`, from, to };
}

// Partitions known to exist, per database handle, so that the hot path skips the DDL.
const knownPartitions = new WeakMap<object, Set<string>>();

function known(db: Executor): Set<string> {
  let names = knownPartitions.get(db);
  if (!names) {
    names = new Set();
    knownPartitions.set(db, names);
  }

  return names;
}

/** Creates the partitions of `table` that hold `times`, unless they exist already. */
export async function ensurePartitions(db: Database, table: PartitionedTable, times: readonly Date[]): Promise<void> {
  const names = known(db);
  const missing = new Map<string, Partition>();
  for (const time of times) {
    const partition = partitionFor(table, time);
    if (!names.has(partition.name)) {
      missing.set(partition.name, partition);
    }
  }
  if (missing.size === 0) {
    return;
  }

  await db.transaction(async (transaction) => {
    await transaction.execute(sql`SELECT pg_advisory_xact_lock(${LOCK_KEYS.partitions})`);
    for (const partition of missing.values()) {
      await transaction.execute(
        sql.raw(
          `CREATE TABLE IF NOT EXISTS "${partition.name}" PARTITION OF "${table}" ` +
            `FOR VALUES FROM ('${partition.from.toISOString()}') TO ('${partition.to.toISOString()}')`,
        ),
      );
    }
  });
  for (const name of missing.keys()) {
    names.add(name);
  }
}

/** Forgets the partitions cached for a handle, after another instance may have dropped some. */
export function forgetPartitions(db: Executor): void {
  knownPartitions.delete(db);
}

/** Tells whether an error is PostgreSQL's "no partition of relation found for row". */
export function isMissingPartition(error: unknown): boolean {
  const found = findPostgresError(error, '23514');

  return found !== undefined && /no partition/i.test(found.message);
}

/** Lists the existing partitions of a table with their bounds, oldest first. */
export async function listPartitions(db: Executor, table: PartitionedTable): Promise<Partition[]> {
  const rows = await queryRows<{ name: string }>(
    db,
    sql`SELECT child.relname AS name
        FROM pg_inherits
        JOIN pg_class parent ON parent.oid = pg_inherits.inhparent
        JOIN pg_class child ON child.oid = pg_inherits.inhrelid
        WHERE parent.relname = ${table}
        ORDER BY child.relname`,
  );

  return rows
    .map((row) => parsePartitionName(table, row.name))
    .filter((partition): partition is Partition => partition !== null);
}

function parsePartitionName(table: PartitionedTable, name: string): Partition | null {
  const match = /_(d|m)(\d{4})(\d{2})(\d{2})?$/.exec(name);
  if (!match) {
    return null;
  }

  const from = new Date(Date.UTC(Number(match[2]), Number(match[3]) - 1, match[4] ? Number(match[4]) : 1));

  return { ...partitionFor(table, from), name };
}

/**
 * Drops the partitions of `table` whose whole range is older than `cutoff`.
 * Returns the names dropped.
 */
export async function dropPartitionsBefore(
  db: Database,
  table: PartitionedTable,
  cutoff: Date,
  executor: Executor = db,
  keepUnrolled = false,
): Promise<string[]> {
  const expired = (await listPartitions(executor, table)).filter((partition) => partition.to.getTime() <= cutoff.getTime());
  const dropped: string[] = [];
  for (const partition of expired) {
    // A partition of reports that the rollups do not contain yet is kept until they do:
    // dropping it would lose the only copy of those samples.
    if (keepUnrolled) {
      const [pending] = await queryRows<{ pending: boolean }>(
        executor,
        sql.raw(
          `SELECT EXISTS (SELECT 1 FROM "${partition.name}" WHERE xid >= (SELECT watermark FROM rollup_state WHERE name = 'rollups')) AS pending`,
        ),
      );
      if (pending?.pending) {
        continue;
      }
    }
    await executor.execute(sql.raw(`DROP TABLE IF EXISTS "${partition.name}"`));
    dropped.push(partition.name);
  }
  forgetPartitions(db);

  return dropped;
}
