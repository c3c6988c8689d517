import type { Database } from '@/db/client';
import { insertReports, rememberLayouts, withReportPartitions, type ReportRow } from '@/db/reports';
import type { CallContext } from '@/lib/api/endpoint';
import { DEFAULT_COMPANY, DEFAULT_USER } from '@/lib/identity';
import type { Logger } from '@/lib/log';
import { encodeSamples } from '@/lib/stats/layout';
import { register, statusReport } from '@/lib/workers/service';

import { buildFleet, type WorkerSpec } from '../demo/fleet';
import { hashToUnit } from '../demo/random';
import { SeedCatalog } from './catalog';
import { SimulatedWorker } from '../demo/simulation';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface SeedOptions extends BatchWriterOptions {
  workers: number;
  /** Length of the history, in days, fractions allowed. */
  days: number;
  /** Interval between two reports of one worker, in seconds. */
  periodSeconds: number;
  /** End of the history, in milliseconds since the epoch: every timestamp lies below it, and register and the newest reports use it as their clock. */
  endMs: number;
  /** Seed of the fleet and its load curves, as in the demo. */
  fleetSeed: number;
  /** Registration timeout of the seeded workers, in seconds. */
  registrationTimeoutSeconds: number;
  /** Logger handed to the service functions as the call context's log. */
  log: Logger;
}

export interface SeedResult {
  workers: number;
  reports: number;
  seconds: number;
}

/**
 * Writes the history of a simulated fleet (the demo's workers and load curves) through
 * the service's own ingestion code, without HTTP. The workers are registered with
 * `register`, after their queues and the demo's projects are found or created. Every
 * report but each worker's newest goes in through BatchWriter, naming the simulation's
 * task ids, which no task object backs. Each worker's newest report goes last through
 * `statusReport`, naming a task created for the job it runs then, so that the worker
 * entry shows that task's name, running time and iteration.
 *
 * Worker w reports at k * period + offset(w), for every k with the time in
 * [endMs - days, endMs), where offset(w) is a fixed share of the period, so the fleet's
 * reports do not all share one timestamp. When days * 86400 is a multiple of the period,
 * every worker writes exactly days * 86400 / period reports.
 */
export async function seedHistory(db: Database, options: SeedOptions): Promise<SeedResult> {
  const startedMs = performance.now();
  const periodMs = options.periodSeconds * 1000;
  const fromMs = options.endMs - options.days * DAY_MS;
  const context: CallContext = {
    db,
    companyId: DEFAULT_COMPANY.id,
    userId: DEFAULT_USER.id,
    now: new Date(options.endMs),
    clientIp: '127.0.0.1',
    requestId: 'seed',
    log: options.log,
  };

  const fleet = buildFleet(options.workers, options.fleetSeed).map((spec) => ({
    simulation: new SimulatedWorker(spec, fromMs),
    offsetMs: Math.floor(hashToUnit(spec.seed, 0) * periodMs),
  }));
  const catalog = new SeedCatalog(context);
  await catalog.prepare(fleet.map(({ simulation }) => simulation.spec));
  const queuesOf = (spec: WorkerSpec) => spec.queues.map((name) => catalog.queueId(name));
  for (const { simulation } of fleet) {
    await register(context, {
      worker: simulation.spec.id,
      queues: queuesOf(simulation.spec),
      timeout: options.registrationTimeoutSeconds,
    });
  }

  const total = fleet.reduce((sum, worker) => sum + reportTimes(fromMs, options.endMs, periodMs, worker.offsetMs).count, 0);
  const writer = new BatchWriter(db, options, total);
  const firstStepMs = Math.floor(fromMs / periodMs) * periodMs;
  for (let stepMs = firstStepMs; stepMs < options.endMs; stepMs += periodMs) {
    for (const { simulation, offsetMs } of fleet) {
      const timeMs = stepMs + offsetMs;
      // Each worker's newest report goes through statusReport below, after all others.
      if (timeMs < fromMs || timeMs + periodMs >= options.endMs) {
        continue;
      }
      const job = simulation.jobAt(timeMs);
      await writer.add({
        companyId: context.companyId,
        workerId: simulation.spec.id,
        time: new Date(timeMs),
        taskId: job?.taskId ?? null,
        samples: encodeSamples(simulation.statsAt(timeMs)),
      });
    }
  }
  await writer.flush();

  for (const { simulation, offsetMs } of fleet) {
    const { count, lastMs } = reportTimes(fromMs, options.endMs, periodMs, offsetMs);
    if (count === 0) {
      continue;
    }
    const job = simulation.jobAt(lastMs);
    const task = job ? { task: await catalog.createRunningTask(job, lastMs), queue: catalog.queueId(job.queue) } : {};
    await statusReport(context, {
      worker: simulation.spec.id,
      timestamp: lastMs,
      queues: queuesOf(simulation.spec),
      machine_stats: simulation.statsAt(lastMs),
      ...task,
    });
  }
  options.onProgress?.(total, total);

  return { workers: fleet.length, reports: total, seconds: (performance.now() - startedMs) / 1000 };
}

/** Counts the report times k * period + offset in [from, end) and returns the last of them, in milliseconds. */
function reportTimes(fromMs: number, endMs: number, periodMs: number, offsetMs: number): { count: number; lastMs: number } {
  const first = Math.ceil((fromMs - offsetMs) / periodMs);
  const last = Math.ceil((endMs - offsetMs) / periodMs) - 1;

  return { count: Math.max(0, last - first + 1), lastMs: last * periodMs + offsetMs };
}

export interface BatchWriterOptions {
  /** Reports per INSERT statement. */
  batchSize: number;
  /** INSERT statements per transaction. */
  batchesPerTransaction: number;
  /** Transactions in flight at once. */
  concurrency: number;
  /** Called after each committed transaction with the reports stored so far. */
  onProgress?: (stored: number, total: number) => void;
}

/**
 * Stores reports through the service's ingestion code (`withReportPartitions` and
 * `insertReports`) in multi-row INSERTs grouped into transactions. Up to `concurrency`
 * transactions run at once, so that generating the next reports overlaps with the
 * database. The first failed write is raised by the next `add` or by `flush`.
 */
export class BatchWriter {
  private rows: ReportRow[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private stored = 0;
  /** The first failed write, raised by the next add or flush. */
  private failure: { error: unknown } | undefined;
  private readonly rowsPerTransaction: number;

  constructor(
    private readonly db: Database,
    private readonly options: BatchWriterOptions,
    /** The number of reports expected in all, passed on to onProgress. */
    private readonly total: number,
  ) {
    this.rowsPerTransaction = options.batchSize * options.batchesPerTransaction;
  }

  async add(row: ReportRow): Promise<void> {
    this.raiseFailure();
    this.rows.push(row);
    if (this.rows.length < this.rowsPerTransaction) {
      return;
    }

    const rows = this.rows;
    this.rows = [];
    while (this.inFlight.size >= this.options.concurrency) {
      await Promise.race(this.inFlight);
    }
    this.raiseFailure();
    this.start(rows);
  }

  async flush(): Promise<void> {
    if (this.rows.length > 0) {
      this.start(this.rows);
      this.rows = [];
    }

    await Promise.all(this.inFlight);
    this.raiseFailure();
  }

  private raiseFailure(): void {
    if (this.failure) {
      throw this.failure.error;
    }
  }

  private start(rows: ReportRow[]): void {
    const write = this.write(rows)
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => this.inFlight.delete(write));
    this.inFlight.add(write);
  }

  private async write(rows: ReportRow[]): Promise<void> {
    const { db } = this;
    const batchSize = this.options.batchSize;
    const times = [...new Set(rows.map((row) => Math.floor(row.time.getTime() / DAY_MS)))].map((day) => new Date(day * DAY_MS));

    const keys = await withReportPartitions(db, times, () =>
      db.transaction(async (transaction) => {
        const layoutKeys: string[] = [];
        for (let start = 0; start < rows.length; start += batchSize) {
          layoutKeys.push(...(await insertReports(db, transaction, rows.slice(start, start + batchSize))));
        }
        return layoutKeys;
      }),
    );
    rememberLayouts(db, keys);

    this.stored += rows.length;
    this.options.onProgress?.(this.stored, this.total);
  }
}
