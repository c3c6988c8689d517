import { setMaxListeners } from 'node:events';
import { parseArgs } from 'node:util';

import { ApiClient, isRetryableError, type ApiCredentials } from '../agent/api-client';
import { DEFAULT_BACKOFF, callWithRetry } from '../agent/backoff';
import { createLogger } from '../agent/logger';
import { resolveCredentials } from '../agent/options';
import { Reporter, errorFields } from '../agent/reporter';
import { assertOptions, parseCommandLine, type OptionCheck } from '../lib/cli';
import { backfill } from './demo/backfill';
import { DemoCatalog } from './demo/catalog';
import { runPool } from './demo/pool';
import { buildFleet } from './demo/fleet';
import { SimulatedWorker } from './demo/simulation';

const USAGE = `Usage: npm run demo -- [options]

Simulates a fleet of ML workers: creates their queues, projects and tasks (reusing
queues and projects of the same name), registers the workers, backfills their past stats
through the workers API, then reports live until SIGINT or SIGTERM, when it unregisters
them all.

Options:
  --server <url>              API server (default http://127.0.0.1:3000)
  --workers <count>           number of simulated workers (default 12)
  --period <seconds>          interval between live reports of a worker, in seconds (default 10)
  --backfill-hours <hours>    length of the backfilled past, in hours; 0 skips it (default 24)
  --backfill-period <seconds> interval between backfilled reports of a worker, in seconds (default 60)
  --concurrency <count>       registration and backfill requests in flight at once (default 8)
  --seed <integer>            seed of the fleet and its load curves (default 1)
  --access-key <key>          access key of the API credential (default: WORKERS_ACCESS_KEY,
                              else CLEARML_API_ACCESS_KEY)
  --secret-key <key>          secret key of the API credential (default: WORKERS_SECRET_KEY,
                              else CLEARML_API_SECRET_KEY)
  --no-live                   exit after the backfill; the workers stay registered until
                              their registration timeout (600 s, or 3 periods if longer) passes
  -h, --help                  print this help

Logs are JSON lines on stdout.
`;

interface DemoSettings {
  server: string;
  workers: number;
  periodSeconds: number;
  backfillHours: number;
  backfillPeriodSeconds: number;
  concurrency: number;
  seed: number;
  live: boolean;
  credentials: ApiCredentials;
}

/** Parses the command line; throws an Error whose message names the bad option. */
function parseDemoArgs(args: string[]): DemoSettings | 'help' {
  const { values } = parseArgs({
    args,
    options: {
      server: { type: 'string', default: 'http://127.0.0.1:3000' },
      workers: { type: 'string', default: '12' },
      period: { type: 'string', default: '10' },
      'backfill-hours': { type: 'string', default: '24' },
      'backfill-period': { type: 'string', default: '60' },
      concurrency: { type: 'string', default: '8' },
      seed: { type: 'string', default: '1' },
      'no-live': { type: 'boolean', default: false },
      'access-key': { type: 'string' },
      'secret-key': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });

  if (values.help) {
    return 'help';
  }

  const settings: DemoSettings = {
    server: values.server,
    workers: Number(values.workers),
    periodSeconds: Number(values.period),
    backfillHours: Number(values['backfill-hours']),
    backfillPeriodSeconds: Number(values['backfill-period']),
    concurrency: Number(values.concurrency),
    seed: Number(values.seed),
    live: !values['no-live'],
    credentials: resolveCredentials(values['access-key'], values['secret-key']),
  };

  const inRange = (value: number, min: number, max: number) => Number.isFinite(value) && value >= min && value <= max;
  const checks: OptionCheck[] = [
    ['--workers', Number.isInteger(settings.workers) && inRange(settings.workers, 1, 1_000), 'a whole number from 1 to 1000'],
    ['--period', inRange(settings.periodSeconds, 0.1, Infinity), 'seconds, at least 0.1'],
    ['--backfill-hours', inRange(settings.backfillHours, 0, 720), 'hours, from 0 to 720'],
    ['--backfill-period', inRange(settings.backfillPeriodSeconds, 1, Infinity), 'seconds, at least 1'],
    ['--concurrency', Number.isInteger(settings.concurrency) && inRange(settings.concurrency, 1, 256), 'a whole number from 1 to 256'],
    ['--seed', Number.isInteger(settings.seed), 'an integer'],
  ];
  assertOptions(checks, values);

  return settings;
}

async function main(): Promise<void> {
  const settings = parseCommandLine(parseDemoArgs, USAGE);
  if (!settings) {
    return;
  }

  const logger = createLogger('demo');
  const client = new ApiClient({ server: settings.server, credentials: settings.credentials });
  const registrationTimeoutSeconds = Math.max(600, Math.ceil(3 * settings.periodSeconds));
  const nowMs = Date.now();
  const backfillFromMs = nowMs - settings.backfillHours * 3_600_000;
  const workers = buildFleet(settings.workers, settings.seed).map((spec) => new SimulatedWorker(spec, backfillFromMs));

  const stopController = new AbortController();
  // Every request and retry delay in flight listens on this signal: hundreds during the backfill.
  setMaxListeners(0, stopController.signal);
  const onSignal = (signal: NodeJS.Signals) => {
    if (!stopController.signal.aborted) {
      logger.info({ signal }, 'signal received, unregistering the fleet');
      stopController.abort();
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  logger.info(
    { api: client.apiBaseUrl, workers: workers.length, backfill_hours: settings.backfillHours, seed: settings.seed },
    'demo starting',
  );

  const catalog = new DemoCatalog(client, logger);
  const registered = new Set<SimulatedWorker>();
  try {
    await callWithRetry(() => catalog.prepare(workers.map((worker) => worker.spec)), {
      backoff: DEFAULT_BACKOFF,
      isRetryable: isRetryableError,
      signal: stopController.signal,
      onRetry: ({ attempt, delayMs, error }) => logger.warn({ attempt, delay_ms: delayMs, ...errorFields(error) }, 'retry'),
    });

    await runPool(workers, settings.concurrency, async (worker) => {
      await callWithRetry(
        () =>
          client.register(
            { worker: worker.spec.id, queues: catalog.queuesOf(worker.spec), timeout: registrationTimeoutSeconds },
            { signal: stopController.signal },
          ),
        {
          backoff: DEFAULT_BACKOFF,
          isRetryable: isRetryableError,
          signal: stopController.signal,
          onRetry: ({ attempt, delayMs, error }) =>
            logger.warn({ worker: worker.spec.id, attempt, delay_ms: delayMs, ...errorFields(error) }, 'retry'),
        },
      );
      registered.add(worker);
    });
    logger.info({ workers: registered.size }, 'fleet registered');

    const result = await backfill({
      client,
      workers,
      fromMs: backfillFromMs,
      toMs: nowMs,
      stepMs: settings.backfillPeriodSeconds * 1000,
      concurrency: settings.concurrency,
      logger,
      signal: stopController.signal,
      read: (worker, timestampMs) => catalog.read(worker, timestampMs),
      queuesOf: (worker) => catalog.queuesOf(worker.spec),
    });
    logger.info(result, 'backfill done');
  } catch (error) {
    if (!stopController.signal.aborted) {
      logger.error(errorFields(error), 'demo setup failed, unregistering the fleet');
    }
    await unregisterAll(client, [...registered], logger);
    process.exit(stopController.signal.aborted ? 0 : 1);
  }

  if (!settings.live) {
    logger.info('live reporting skipped (--no-live), exiting');
    return;
  }

  const periodMs = settings.periodSeconds * 1000;
  const reporters = workers.map(
    (worker) =>
      new Reporter({
        client,
        worker: worker.spec.id,
        queues: catalog.queuesOf(worker.spec),
        source: catalog.liveSource(worker),
        logger,
        periodMs,
        registrationTimeoutSeconds,
        firstReportDelayMs: 0,
      }),
  );
  // Starts are spread over one period, so the fleet's reports do not all arrive at once.
  const startTimers = reporters.map((reporter, index) =>
    setTimeout(() => reporter.start(), (index * periodMs) / reporters.length),
  );

  await new Promise((resolve) => stopController.signal.addEventListener('abort', resolve, { once: true }));
  startTimers.forEach((timer) => clearTimeout(timer));
  await Promise.all(reporters.map((reporter) => reporter.stop()));
  process.exit(0);
}

/** Unregisters workers after a failed or interrupted setup, logging each failure. */
async function unregisterAll(client: ApiClient, workers: SimulatedWorker[], logger: ReturnType<typeof createLogger>) {
  await Promise.all(
    workers.map(async (worker) => {
      try {
        await client.unregister({ worker: worker.spec.id }, { timeoutMs: 3_000 });
      } catch (error) {
        logger.warn({ worker: worker.spec.id, ...errorFields(error) }, 'unregister failed');
      }
    }),
  );
  logger.info({ workers: workers.length }, 'fleet unregistered');
}

void main();
