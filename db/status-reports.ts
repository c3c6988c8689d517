import { queryPrepared, type Database } from './client';
import { layoutKeysOf, rememberLayouts, storedKeys, withReportPartitions, type ReportRow } from './reports';

export interface StatusReportWrite extends ReportRow {
  userId: string;
  ip: string;
  /** The server's time of the call: last activity and the start of the new expiry. */
  now: Date;
  queueId: string | null;
  /** The project of the report's task, shown with the worker entry; none when unset. */
  projectId?: string | null;
  /** Queues that replace the entry's when the list is non-empty. */
  queues?: string[];
  /** Tags that replace the entry's when given, as `systemTags` do. */
  tags?: string[];
  systemTags?: string[];
}

// The status reports of one batch, as arrays with one element per report: a report's
// position in the batch joins its rows. The worker entries are updated first, and only
// live entries match. The report rows select from that UPDATE's RETURNING, so the report
// of a worker that is not registered inserts nothing. A NULL list keeps the stored one.
// Lists and samples arrive as array literals in text, because every report's array has
// a length of its own and PostgreSQL arrays of arrays must be rectangular. Times arrive
// as ISO 8601 text, because Drizzle makes the postgres driver send timestamptz[] as is.
const UPDATE_WORKERS_SQL = `WITH input AS (
  SELECT * FROM unnest(
    $1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
    $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bigint[], $14::text[], $15::text[]
  ) AS input(position, company_id, user_id, worker_id, ip, now, task_id,
             queue_id, queues, tags, system_tags, time, layout_id, samples, project_id)
), updated AS (
  UPDATE workers SET
    ip = input.ip,
    last_activity_time = input.now::timestamptz,
    last_report_time = input.now::timestamptz,
    expires_at = input.now::timestamptz + make_interval(secs => workers.timeout_seconds),
    task_id = input.task_id,
    project_id = input.project_id,
    queue_id = input.queue_id,
    queues = coalesce(input.queues::text[], workers.queues),
    tags = coalesce(input.tags::text[], workers.tags),
    system_tags = coalesce(input.system_tags::text[], workers.system_tags)
  FROM input
  WHERE workers.company_id = input.company_id AND workers.user_id = input.user_id
    AND workers.worker_id = input.worker_id AND workers.expires_at > input.now::timestamptz
  RETURNING input.position
), stored AS (
  INSERT INTO reports (company_id, worker_id, time, task_id, layout_id, "values")
  SELECT input.company_id, input.worker_id, input.time::timestamptz, input.task_id, input.layout_id, input.samples::real[]
  FROM input JOIN updated USING (position)
)`;

const STORE_STATUS_REPORTS_SQL = `${UPDATE_WORKERS_SQL}
SELECT position FROM updated`;

// The same with the layouts and (worker, layout) pairs that this process has not stored
// yet, given for the positions in $16. Rows are inserted in key order, so two batches
// inserting the same keys wait for each other instead of deadlocking.
const STORE_STATUS_REPORTS_WITH_LAYOUTS_SQL = `${UPDATE_WORKERS_SQL}, new_layout AS (
  SELECT input.company_id, input.worker_id, input.layout_id, layout.series, layout.metrics
  FROM input
  JOIN updated USING (position)
  JOIN unnest($16::int[], $17::text[], $18::text[]) AS layout(position, series, metrics) USING (position)
), stored_layouts AS (
  INSERT INTO layouts (company_id, id, series, metrics)
  SELECT DISTINCT ON (company_id, layout_id) company_id, layout_id, series::smallint[], metrics::smallint[]
  FROM new_layout ORDER BY company_id, layout_id
  ON CONFLICT DO NOTHING
), stored_pairs AS (
  INSERT INTO worker_layouts (company_id, worker_id, layout_id)
  SELECT DISTINCT company_id, worker_id, layout_id FROM new_layout ORDER BY company_id, worker_id, layout_id
  ON CONFLICT DO NOTHING
)
SELECT position FROM updated`;

/** Formats strings as a PostgreSQL array literal, quoting every element. */
function textArrayLiteral(values: readonly string[]): string {
  return `{${values.map((value) => `"${value.replace(/[\\"]/g, '\\$&')}"`).join(',')}}`;
}

/**
 * Applies status reports to live worker entries, extending each expiry by the entry's
 * own timeout, and stores the report rows, in one statement: one round trip and one
 * commit, atomic without an explicit transaction. Creates missing day partitions.
 * Returns the indexes in `batch` of the reports stored. The others, stored nothing,
 * because their worker is not registered or has expired.
 * A batch must not contain two reports of one worker.
 */
async function storeStatusReportBatch(db: Database, batch: readonly StatusReportWrite[]): Promise<Set<number>> {
  const params: unknown[] = [
    batch.map((_, index) => index),
    batch.map((report) => report.companyId),
    batch.map((report) => report.userId),
    batch.map((report) => report.workerId),
    batch.map((report) => report.ip),
    batch.map((report) => report.now.toISOString()),
    batch.map((report) => report.taskId),
    batch.map((report) => report.queueId),
    batch.map((report) => (report.queues && report.queues.length > 0 ? textArrayLiteral(report.queues) : null)),
    batch.map((report) => (report.tags ? textArrayLiteral(report.tags) : null)),
    batch.map((report) => (report.systemTags ? textArrayLiteral(report.systemTags) : null)),
    batch.map((report) => report.time.toISOString()),
    batch.map((report) => report.samples.layoutId),
    // A JavaScript number's shortest text reads back as the same float8, which PostgreSQL
    // then rounds to float4.
    batch.map((report) => `{${report.samples.values.join(',')}}`),
    batch.map((report) => report.projectId ?? null),
  ];

  // The reports whose layout or (worker, layout) pair this process has not stored yet
  // bring their layout, and the statement inserts both, skipping those that exist.
  const known = storedKeys(db);
  const positions = batch.flatMap((report, index) => (layoutKeysOf(report).some((key) => !known.has(key)) ? [index] : []));
  if (positions.length > 0) {
    params.push(
      positions,
      positions.map((index) => `{${batch[index].samples.series.join(',')}}`),
      positions.map((index) => `{${batch[index].samples.metrics.join(',')}}`),
    );
  }

  const query = positions.length > 0 ? STORE_STATUS_REPORTS_WITH_LAYOUTS_SQL : STORE_STATUS_REPORTS_SQL;
  const times = batch.map((report) => report.time);
  const rows = await withReportPartitions(db, times, () => queryPrepared<{ position: number }>(db, query, params));

  const stored = new Set(rows.map((row) => Number(row.position)));
  rememberLayouts(
    db,
    batch.flatMap((report, index) => (stored.has(index) ? layoutKeysOf(report) : [])),
  );

  return stored;
}

/** Reports in one statement at most, to bound its parameters and the time it holds row locks. */
const MAX_BATCH_SIZE = 64;

/**
 * Batch statements running at once per database handle. Reports that arrive while this
 * many run wait and go in the next batch, so batches grow with the load.
 */
const MAX_BATCHES_IN_FLIGHT = 4;

interface PendingReport {
  report: StatusReportWrite;
  resolve(stored: boolean): void;
  reject(error: unknown): void;
}

/**
 * Group commit of status reports: each report waits until the statement storing its
 * batch has committed. Within one process a worker is never in two running batches, so
 * its reports are stored in arrival order and these batches cannot deadlock on worker rows.
 * NOTE: batches of two instances could still deadlock when two workers each report
 * through both at once and concurrent updates leave their rows in different heap orders.
 * PostgreSQL then aborts one batch, and its reports get errors.
 */
class StatusReportBatcher {
  private pending: PendingReport[] = [];
  private running = 0;
  private scheduled = false;
  private readonly workersInFlight = new Set<string>();

  constructor(private readonly db: Database) {}

  submit(report: StatusReportWrite): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.pending.push({ report, resolve, reject });
      this.schedule();
    });
  }

  /** Starts batches after the current event loop turn, so that the reports parsed in it share one. */
  private schedule(): void {
    if (this.scheduled || this.running >= MAX_BATCHES_IN_FLIGHT || this.pending.length === 0) {
      return;
    }

    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.startBatches();
    });
  }

  private startBatches(): void {
    while (this.running < MAX_BATCHES_IN_FLIGHT) {
      const batch = this.takeBatch();
      if (batch.length === 0) {
        return;
      }

      this.running += 1;
      void this.store(batch).finally(() => {
        this.running -= 1;
        for (const item of batch) {
          this.workersInFlight.delete(workerKey(item.report));
        }
        this.schedule();
      });
    }
  }

  /** Takes the oldest pending reports of distinct workers that no running batch has. */
  private takeBatch(): PendingReport[] {
    const batch: PendingReport[] = [];
    const rest: PendingReport[] = [];
    for (const item of this.pending) {
      const key = workerKey(item.report);
      if (batch.length < MAX_BATCH_SIZE && !this.workersInFlight.has(key)) {
        this.workersInFlight.add(key);
        batch.push(item);
      } else {
        rest.push(item);
      }
    }
    this.pending = rest;

    // A plan that joins through the primary key locks the entries in input order, and so
    // in key order in every instance. A plan that scans the table locks them in heap order.
    return batch.sort((a, b) => compareStrings(workerKey(a.report), workerKey(b.report)));
  }

  private async store(batch: PendingReport[]): Promise<void> {
    try {
      const stored = await storeStatusReportBatch(
        this.db,
        batch.map((item) => item.report),
      );
      batch.forEach((item, index) => item.resolve(stored.has(index)));
    } catch (error) {
      // The statement stored none of the batch, so every report of it fails alike.
      for (const item of batch) {
        item.reject(error);
      }
    }
  }
}

function compareStrings(a: string, b: string): number {
  if (a === b) {
    return 0;
  }

  return a < b ? -1 : 1;
}

function workerKey(report: StatusReportWrite): string {
  return `${report.companyId}\u0000${report.userId}\u0000${report.workerId}`;
}

const batchers = new WeakMap<Database, StatusReportBatcher>();

/**
 * Applies a status report to its live worker entry and stores the report row. It
 * resolves once the statement storing it, with the reports that arrived at about the
 * same time, has committed. Resolves with false, having stored nothing, when the worker
 * is not registered or has expired.
 */
export function storeStatusReport(db: Database, report: StatusReportWrite): Promise<boolean> {
  let batcher = batchers.get(db);
  if (!batcher) {
    batcher = new StatusReportBatcher(db);
    batchers.set(db, batcher);
  }

  return batcher.submit(report);
}
