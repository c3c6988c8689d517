import { parseArgs } from 'node:util';

import { databaseOptionsFromEnv } from '@/db/client';
import { assertOptions, parseCommandLine, type OptionCheck } from '@/lib/cli';
import { openServiceDatabase } from '@/lib/database';
import { logger } from '@/lib/log';
import { updateRollupsUntilDone } from '@/lib/stats/jobs';

import { seedHistory } from './seed/history';

const USAGE = `Usage: npm run seed -- [options]

Writes the history of a simulated fleet (the demo's workers and load curves) straight
into the database through the service's ingestion code, without HTTP, and registers the
workers. The database is the service's: DATABASE_URL, else the PGlite folder
WORKERS_DATA_DIR (default ./data); stop a service that uses the same PGlite folder first.
Seeding twice writes the reports twice.

Options:
  --workers <count>     number of simulated workers (default 12)
  --days <days>         length of the history before now, in days (default 1)
  --period <seconds>    interval between two reports of a worker, in seconds (default 60)
  --seed <integer>      seed of the fleet and its load curves (default 1)
  --timeout <seconds>   registration timeout of the workers, in seconds (default 86400)
  --no-refresh          skip the rollup refresh at the end (the service's background
                        refresh catches up later)
  -h, --help            print this help

Progress lines are JSON logs on stdout; the last line is the result as JSON: reports
written, seconds, reports per second and the refresh time.
`;

/** Reports per INSERT and INSERTs per transaction, large enough to amortise the round trips. */
const BATCH_SIZE = 500;
const BATCHES_PER_TRANSACTION = 4;
/** Seconds between two progress lines. */
const PROGRESS_SECONDS = 5;

interface SeedSettings {
  workers: number;
  days: number;
  periodSeconds: number;
  fleetSeed: number;
  timeoutSeconds: number;
  refresh: boolean;
}

/** Parses the command line and throws an Error whose message names an invalid option. */
function parseSeedArgs(args: string[]): SeedSettings | 'help' {
  const { values } = parseArgs({
    args,
    options: {
      workers: { type: 'string', default: '12' },
      days: { type: 'string', default: '1' },
      period: { type: 'string', default: '60' },
      seed: { type: 'string', default: '1' },
      timeout: { type: 'string', default: '86400' },
      refresh: { type: 'boolean', default: true },
      'no-refresh': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });

  if (values.help) {
    return 'help';
  }

  const settings: SeedSettings = {
    workers: Number(values.workers),
    days: Number(values.days),
    periodSeconds: Number(values.period),
    fleetSeed: Number(values.seed),
    timeoutSeconds: Number(values.timeout),
    refresh: !values['no-refresh'],
  };

  const inRange = (value: number, min: number, max: number) => Number.isFinite(value) && value >= min && value <= max;
  const checks: OptionCheck[] = [
    ['--workers', Number.isInteger(settings.workers) && inRange(settings.workers, 1, 10_000), 'a whole number from 1 to 10000'],
    ['--days', inRange(settings.days, 0.001, 400), 'days, from 0.001 to 400'],
    ['--period', inRange(settings.periodSeconds, 1, 86_400), 'seconds, from 1 to 86400'],
    ['--seed', Number.isInteger(settings.fleetSeed), 'an integer'],
    ['--timeout', Number.isInteger(settings.timeoutSeconds) && inRange(settings.timeoutSeconds, 1, 2_147_483_647), 'whole seconds, at least 1'],
  ];
  assertOptions(checks, values);

  return settings;
}

async function main(): Promise<void> {
  const settings = parseCommandLine(parseSeedArgs, USAGE);
  if (!settings) {
    return;
  }

  const options = databaseOptionsFromEnv();
  const handle = await openServiceDatabase(options);
  try {
    logger.info({ ...settings, database: handle.kind }, 'seed starting');

    let nextProgressMs = performance.now() + PROGRESS_SECONDS * 1000;
    const seeded = await seedHistory(handle.db, {
      workers: settings.workers,
      days: settings.days,
      periodSeconds: settings.periodSeconds,
      endMs: Date.now(),
      fleetSeed: settings.fleetSeed,
      registrationTimeoutSeconds: settings.timeoutSeconds,
      batchSize: BATCH_SIZE,
      batchesPerTransaction: BATCHES_PER_TRANSACTION,
      // The postgres driver keeps 10 connections, while PGlite runs one query at a time.
      concurrency: handle.kind === 'postgres' ? 3 : 1,
      // One line per registered worker would bury the progress lines.
      log: logger.child({}, { level: 'warn' }),
      onProgress: (stored, total) => {
        if (performance.now() < nextProgressMs) {
          return;
        }
        nextProgressMs = performance.now() + PROGRESS_SECONDS * 1000;
        logger.info({ stored, total, percent: Math.floor((100 * stored) / total) }, 'seed progress');
      },
    });
    logger.info({ reports: seeded.reports, seconds: round(seeded.seconds, 1) }, 'reports written');

    let refreshSeconds: number | null = null;
    if (settings.refresh) {
      const started = performance.now();
      const refresh = await updateRollupsUntilDone(handle.db);
      refreshSeconds = (performance.now() - started) / 1000;
      logger.info({ reports: refresh.reports, seconds: round(refreshSeconds, 1) }, 'rollups refreshed');
    }

    process.stdout.write(
      `${JSON.stringify({
        workers: seeded.workers,
        reports: seeded.reports,
        seconds: round(seeded.seconds, 2),
        reports_per_second: Math.round(seeded.reports / seeded.seconds),
        refresh_seconds: refreshSeconds === null ? null : round(refreshSeconds, 2),
      })}\n`,
    );
  } finally {
    await handle.close();
  }
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;

  return Math.round(value * scale) / scale;
}

main().catch((error: unknown) => {
  logger.fatal({ err: error }, 'seed failed');
  process.exit(1);
});
