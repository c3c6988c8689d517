import { setMaxListeners } from 'node:events';

import type { Logger } from 'pino';

import { isRetryableError, type ApiClient } from '../../agent/api-client';
import { DEFAULT_BACKOFF, callWithRetry, type BackoffOptions } from '../../agent/backoff';
import { errorFields, type ReportContent } from '../../agent/reporter';
import { runPool } from './pool';
import type { SimulatedWorker } from './simulation';

export interface BackfillOptions {
  client: ApiClient;
  workers: SimulatedWorker[];
  /** First timestamp, in milliseconds since the epoch; rounded up to the step. */
  fromMs: number;
  /** Timestamps stay below this, in milliseconds since the epoch. */
  toMs: number;
  /** Interval between two reports of one worker, in milliseconds. */
  stepMs: number;
  /** Reports in flight at once. */
  concurrency: number;
  logger: Logger;
  signal?: AbortSignal;
  /** Delays between attempts of one report; DEFAULT_BACKOFF unless given. */
  backoff?: BackoffOptions;
  /** The content of a worker's report; the simulation's own unless given. */
  read?: (worker: SimulatedWorker, timestampMs: number) => Promise<ReportContent>;
  /** The queue ids a worker reports; the simulation's own unless given. */
  queuesOf?: (worker: SimulatedWorker) => string[];
}

export interface BackfillResult {
  sent: number;
  failed: number;
}

/** Percent of the work between two progress lines. */
const PROGRESS_STEP_PERCENT = 10;

/** Calls per report before it counts as failed; the backoff waits add up to about 30 s. */
const MAX_ATTEMPTS_PER_REPORT = 6;

/** Failed reports after which the backfill stops, as the server is unlikely to recover soon. */
export const MAX_FAILED_REPORTS = 50;

/**
 * Sends every worker's status reports for the past range through the API, oldest first,
 * `concurrency` at a time, logging progress every 10 %. Transient failures are retried
 * with backoff, up to MAX_ATTEMPTS_PER_REPORT calls, and a report that still fails is
 * logged and counted. After MAX_FAILED_REPORTS failures the backfill stops and
 * rejects. The newest report of each worker goes last, after all others, so that the
 * task and queue the server keeps for the worker are those of the present.
 */
export async function backfill(options: BackfillOptions): Promise<BackfillResult> {
  const { client, workers, stepMs, logger } = options;
  const read = options.read ?? ((worker: SimulatedWorker, timestampMs: number) => worker.read(timestampMs));
  const queuesOf = options.queuesOf ?? ((worker: SimulatedWorker) => worker.spec.queues);
  const giveUp = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, giveUp.signal]) : giveUp.signal;
  // Every request and retry delay in flight listens on this signal.
  setMaxListeners(0, signal);

  const timestamps: number[] = [];
  for (let timestampMs = Math.ceil(options.fromMs / stepMs) * stepMs; timestampMs < options.toMs; timestampMs += stepMs) {
    timestamps.push(timestampMs);
  }

  const latest = timestamps.pop();
  const reports = timestamps.flatMap((timestampMs) => workers.map((worker) => ({ worker, timestampMs })));
  const total = reports.length + (latest === undefined ? 0 : workers.length);
  const result: BackfillResult = { sent: 0, failed: 0 };
  const startedMs = performance.now();
  let nextProgressPercent = PROGRESS_STEP_PERCENT;

  const send = async (worker: SimulatedWorker, timestampMs: number) => {
    if (signal.aborted) {
      throw signal.reason;
    }

    try {
      await callWithRetry(
        async () =>
          client.statusReport(
            { worker: worker.spec.id, timestamp: timestampMs, queues: queuesOf(worker), ...(await read(worker, timestampMs)) },
            { signal },
          ),
        {
          backoff: options.backoff ?? DEFAULT_BACKOFF,
          isRetryable: isRetryableError,
          signal,
          maxAttempts: MAX_ATTEMPTS_PER_REPORT,
          onRetry: ({ attempt, delayMs, error }) =>
            logger.warn({ worker: worker.spec.id, attempt, delay_ms: delayMs, ...errorFields(error) }, 'retry'),
        },
      );
      result.sent += 1;
    } catch (error) {
      if (signal.aborted) {
        throw signal.reason;
      }
      result.failed += 1;
      logger.error({ worker: worker.spec.id, timestamp: timestampMs, ...errorFields(error) }, 'backfill report failed');
      if (result.failed >= MAX_FAILED_REPORTS) {
        const lastFailure = errorFields(error).error;
        giveUp.abort(new Error(`backfill stopped after ${result.failed} failed reports; the last failure: ${lastFailure}`));
        throw signal.reason;
      }
    }

    const done = result.sent + result.failed;
    const donePercent = Math.floor((100 * done) / total);
    if (donePercent >= nextProgressPercent) {
      nextProgressPercent = donePercent - (donePercent % PROGRESS_STEP_PERCENT) + PROGRESS_STEP_PERCENT;
      logger.info(
        { done, total, percent: donePercent, elapsed_s: round1((performance.now() - startedMs) / 1000) },
        'backfill progress',
      );
    }
  };

  await runPool(reports, options.concurrency, ({ worker, timestampMs }) => send(worker, timestampMs));
  if (latest !== undefined) {
    await runPool(workers, options.concurrency, (worker) => send(worker, latest));
  }

  return result;
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
