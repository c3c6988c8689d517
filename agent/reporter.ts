import type { Logger } from 'pino';

import type { MachineStats } from '../lib/schemas/workers';
import {
  ApiNetworkError,
  ApiResponseError,
  WORKER_NOT_REGISTERED_SUBCODE,
  isRetryableError,
  isWorkerNotRegisteredError,
  type ApiClient,
} from './api-client';
import { DEFAULT_BACKOFF, callWithRetry, sleep, type BackoffOptions } from './backoff';

/** Fields of a status report besides the worker id, timestamp and queues. */
export interface ReportContent {
  machine_stats?: MachineStats;
  /** Id of the task the worker runs; absent when idle, which clears it on the server. */
  task?: string;
  /** Id of the queue the running task came from. */
  queue?: string;
}

/** Source of each report's content: this machine, or a simulation. */
export interface ReportSource {
  /** Called once before registering, for example to take the first counter reading. */
  prime?(): Promise<void>;
  /** Returns the content of the report stamped `timestampMs` (milliseconds since the epoch). */
  read(timestampMs: number): Promise<ReportContent>;
}

export interface ReporterOptions {
  client: ApiClient;
  worker: string;
  queues?: string[];
  source: ReportSource;
  logger: Logger;
  /** Interval between status reports, in milliseconds. */
  periodMs: number;
  /** Seconds without a report after which the server drops the worker; must exceed the period. */
  registrationTimeoutSeconds: number;
  /** Delay between registration and the first report, in milliseconds; min(1 s, period) by default. */
  firstReportDelayMs?: number;
  backoff?: BackoffOptions;
  /** Source of backoff jitter, in [0, 1). */
  random?: () => number;
  /** Time limit of the unregister call on stop, in milliseconds. */
  unregisterTimeoutMs?: number;
}

/** Running totals, read by tests and logged on stop. */
export interface ReporterCounters {
  /** Successful register calls, the first one included. */
  registrations: number;
  /** Status reports the server accepted. */
  reports: number;
  /** Status reports given up on after a non-retryable error. */
  failedReports: number;
  /** Requests sent again after a network error, 5xx or 429. */
  retries: number;
}

const DEFAULT_UNREGISTER_TIMEOUT_MS = 3_000;

type SendOutcome = 'sent' | 'not-registered' | 'failed';

/**
 * Returns the index of the next report tick after a report for tick `currentTick` ended
 * at `nowMs`. Ticks lie at `originMs + index * periodMs`, so delays never add up to a
 * drift. Ticks already past (after a slow or retried report) are skipped, not sent in
 * a burst.
 */
export function nextTickIndex(currentTick: number, originMs: number, nowMs: number, periodMs: number): number {
  const firstFutureTick = Math.floor((nowMs - originMs) / periodMs) + 1;

  return Math.max(currentTick + 1, firstFutureTick);
}

/**
 * Keeps one worker registered and reporting: registers, then sends a status report on a
 * fixed schedule. It registers again when the server returns 400/1001 (the server lost
 * or expired the worker). It retries network errors, 5xx and 429 with capped exponential
 * backoff, and logs other 4xx and goes on. stop() unregisters.
 */
export class Reporter {
  readonly counters: ReporterCounters = { registrations: 0, reports: 0, failedReports: 0, retries: 0 };

  private readonly client: ApiClient;
  private readonly worker: string;
  private readonly queues: string[];
  private readonly source: ReportSource;
  private readonly logger: Logger;
  private readonly periodMs: number;
  private readonly registrationTimeoutSeconds: number;
  private readonly firstReportDelayMs: number;
  private readonly backoff: BackoffOptions;
  private readonly random: () => number;
  private readonly unregisterTimeoutMs: number;
  private readonly abortController = new AbortController();
  private registered = false;
  private loop: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(options: ReporterOptions) {
    if (!(options.periodMs > 0)) {
      throw new Error(`invalid period ${options.periodMs} ms: must be positive`);
    }
    if (!(options.registrationTimeoutSeconds * 1000 > options.periodMs)) {
      throw new Error(
        `invalid registration timeout ${options.registrationTimeoutSeconds} s: must exceed the period of ${options.periodMs} ms`,
      );
    }

    this.client = options.client;
    this.worker = options.worker;
    this.queues = options.queues ?? [];
    this.source = options.source;
    this.logger = options.logger.child({ worker: options.worker });
    this.periodMs = options.periodMs;
    this.registrationTimeoutSeconds = options.registrationTimeoutSeconds;
    this.firstReportDelayMs = options.firstReportDelayMs ?? Math.min(1_000, options.periodMs);
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.random = options.random ?? Math.random;
    this.unregisterTimeoutMs = options.unregisterTimeoutMs ?? DEFAULT_UNREGISTER_TIMEOUT_MS;
  }

  /** Starts the register-and-report loop in the background; it runs until stop(). */
  start(): void {
    if (this.loop) {
      throw new Error(`reporter for worker ${this.worker} already started`);
    }

    this.loop = this.run().catch((error: unknown) => {
      if (!this.abortController.signal.aborted) {
        this.logger.error({ error: errorMessage(error) }, 'reporter loop ended by an unexpected error');
      }
    });
  }

  /**
   * Ends the loop (aborting a pending request or retry delay), then unregisters the
   * worker if it was ever registered. Resolves when done; calling it again returns the
   * same promise. Unregister failures are logged, not thrown.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutDown();

    return this.stopping;
  }

  private async shutDown(): Promise<void> {
    this.abortController.abort();
    await this.loop;

    if (this.counters.registrations > 0) {
      await this.unregister();
    }

    this.logger.info({ ...this.counters }, 'stop');
  }

  private async run(): Promise<void> {
    const signal = this.abortController.signal;
    this.logger.info(
      {
        api: this.client.apiBaseUrl,
        queues: this.queues,
        period_ms: this.periodMs,
        timeout_s: this.registrationTimeoutSeconds,
      },
      'start',
    );

    await this.source.prime?.();

    // A rejected registration (4xx) is tried again one period later.
    while (!(await this.register())) {
      await sleep(this.periodMs, signal);
    }

    const originMs = performance.now() + this.firstReportDelayMs;
    let tick = 0;
    for (;;) {
      await sleep(originMs + tick * this.periodMs - performance.now(), signal);

      if (this.registered || (await this.register())) {
        await this.reportOnce();
      }

      tick = nextTickIndex(tick, originMs, performance.now(), this.periodMs);
    }
  }

  /** Sends one status report, registering again and resending once if the server lost the worker. */
  private async reportOnce(): Promise<void> {
    const outcome = await this.sendReport();
    if (outcome !== 'not-registered') {
      return;
    }

    this.registered = false;
    this.logger.warn('worker not registered on the server, registering again');
    if (!(await this.register())) {
      return;
    }

    if ((await this.sendReport()) === 'not-registered') {
      this.registered = false;
      this.logger.error('status report rejected as unregistered right after registering again');
    }
  }

  // Each attempt reads the source again, so a retried report carries the stats and
  // timestamp of the moment it is sent.
  private async sendReport(): Promise<SendOutcome> {
    try {
      await this.withRetry('workers.status_report', async () => {
        const timestamp = Date.now();
        const content = await this.source.read(timestamp);
        await this.client.statusReport(
          {
            worker: this.worker,
            timestamp,
            ...(this.queues.length > 0 ? { queues: this.queues } : {}),
            ...content,
          },
          { signal: this.abortController.signal },
        );
      });
      this.counters.reports += 1;
      return 'sent';
    } catch (error) {
      if (this.abortController.signal.aborted) {
        throw error;
      }
      if (isWorkerNotRegisteredError(error)) {
        return 'not-registered';
      }

      this.counters.failedReports += 1;
      this.logger.error(errorFields(error), 'status report failed');
      return 'failed';
    }
  }

  /** Registers the worker, retrying transient failures; returns false when the server rejects it. */
  private async register(): Promise<boolean> {
    try {
      await this.withRetry('workers.register', () =>
        this.client.register(
          { worker: this.worker, queues: this.queues, timeout: this.registrationTimeoutSeconds },
          { signal: this.abortController.signal },
        ),
      );
    } catch (error) {
      if (this.abortController.signal.aborted) {
        throw error;
      }

      this.logger.error(errorFields(error), 'registration failed, trying again in one period');
      return false;
    }

    this.registered = true;
    this.counters.registrations += 1;
    this.logger.info({ registrations: this.counters.registrations }, 'registered');

    return true;
  }

  private async unregister(): Promise<void> {
    try {
      await this.client.unregister({ worker: this.worker }, { timeoutMs: this.unregisterTimeoutMs });
      this.logger.info('unregistered');
    } catch (error) {
      if (error instanceof ApiResponseError && error.resultSubcode === WORKER_NOT_REGISTERED_SUBCODE) {
        this.logger.info('unregister skipped: the server no longer knows the worker');
        return;
      }
      this.logger.warn(errorFields(error), 'unregister failed');
    }
  }

  /** Runs `call` until it succeeds, throws a non-retryable error, or the reporter stops. */
  private withRetry(endpoint: string, call: () => Promise<void>): Promise<void> {
    return callWithRetry(call, {
      backoff: this.backoff,
      isRetryable: isRetryableError,
      random: this.random,
      signal: this.abortController.signal,
      onRetry: ({ attempt, delayMs, error }) => {
        this.counters.retries += 1;
        this.logger.warn({ endpoint, attempt, delay_ms: delayMs, ...errorFields(error) }, 'retry');
      },
    });
  }
}

/** Log fields of a failed call: the message plus result codes or the network error code. */
export function errorFields(error: unknown): Record<string, unknown> {
  if (error instanceof ApiResponseError) {
    return { error: error.message, result_code: error.resultCode, result_subcode: error.resultSubcode };
  }
  if (error instanceof ApiNetworkError) {
    return { error: error.message, code: error.code };
  }

  return { error: errorMessage(error) };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
