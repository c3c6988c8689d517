import type postgres from 'postgres';

import { PARTITIONED_TABLES } from '@/db/partitions';

/**
 * Sums the bytes on disk of a partitioned table over its partitions: heap, indexes,
 * TOAST (with its index), and the rest (free space and visibility maps).
 */
async function partitionedSize(sql: postgres.Sql, table: string) {
  const [row] = await sql<{ total: string; heap: string; indexes: string; toast: string; partitions: number }[]>`
    SELECT coalesce(sum(pg_total_relation_size(child.oid)), 0)::text AS total,
           coalesce(sum(pg_relation_size(child.oid, 'main')), 0)::text AS heap,
           coalesce(sum(pg_indexes_size(child.oid)), 0)::text AS indexes,
           coalesce(sum(CASE WHEN child.reltoastrelid <> 0 THEN pg_total_relation_size(child.reltoastrelid) ELSE 0 END), 0)::text AS toast,
           count(*)::int AS partitions
    FROM pg_inherits
    JOIN pg_class parent ON parent.oid = pg_inherits.inhparent
    JOIN pg_class child ON child.oid = pg_inherits.inhrelid
    WHERE parent.relname = ${table}`;
  const total = Number(row.total);
  const heap = Number(row.heap);
  const indexes = Number(row.indexes);
  const toast = Number(row.toast);

  return { total, heap, indexes, toast, other: total - heap - indexes - toast, partitions: row.partitions };
}

async function tableSize(sql: postgres.Sql, table: string): Promise<{ bytes: number; rows: number }> {
  const [row] = await sql<{ bytes: string; rows: number }[]>`
    SELECT pg_total_relation_size(${table}::regclass)::text AS bytes,
           (SELECT count(*)::int FROM ${sql(table)}) AS rows`;

  return { bytes: Number(row.bytes), rows: row.rows };
}

/**
 * Measures the bytes on disk per stored report after VACUUM ANALYZE, over the reports
 * partitions (table, indexes and TOAST), and separately the layouts and worker_layouts
 * tables and the rollups. Returns the fields of the `storage` figure.
 */
export async function measureStorage(sql: postgres.Sql): Promise<Record<string, unknown>> {
  await sql`VACUUM ANALYZE reports`;
  await sql`VACUUM ANALYZE layouts`;
  await sql`VACUUM ANALYZE worker_layouts`;
  for (const table of Object.keys(PARTITIONED_TABLES).filter((name) => name.startsWith('rollups_'))) {
    await sql`VACUUM ANALYZE ${sql(table)}`;
  }

  const [counted] = await sql<{ reports: number; samples: string }[]>`
    SELECT count(*)::int AS reports, coalesce(sum(cardinality("values")), 0)::text AS samples FROM reports`;
  const reports = counted.reports;
  const perReport = (bytes: number) => (reports === 0 ? null : Math.round((10 * bytes) / reports) / 10);

  const size = await partitionedSize(sql, 'reports');
  const layouts = await tableSize(sql, 'layouts');
  const workerLayouts = await tableSize(sql, 'worker_layouts');
  const rollups: Record<string, number | null> = {};
  for (const table of Object.keys(PARTITIONED_TABLES).filter((name) => name.startsWith('rollups_'))) {
    rollups[`${table}_bytes_per_report`] = perReport((await partitionedSize(sql, table)).total);
  }

  return {
    reports,
    samples_per_report: reports === 0 ? null : Number(counted.samples) / reports,
    partitions: size.partitions,
    bytes_total: size.total,
    bytes_per_report: perReport(size.total),
    heap_per_report: perReport(size.heap),
    indexes_per_report: perReport(size.indexes),
    toast_per_report: perReport(size.toast),
    other_per_report: perReport(size.other),
    target_bytes_per_report: 1024,
    met: reports > 0 && size.total / reports < 1024,
    layouts_rows: layouts.rows,
    layouts_bytes: layouts.bytes,
    worker_layouts_rows: workerLayouts.rows,
    worker_layouts_bytes: workerLayouts.bytes,
    ...rollups,
  };
}
