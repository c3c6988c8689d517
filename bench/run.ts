import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

import postgres from 'postgres';

import { basicAuthorization, credentialsFromEnv, type ApiCredentials } from '@/agent/api-client';
import { resolveCredentials } from '@/agent/options';
import type { DatabaseHandle } from '@/db/client';
import { assertOptions, parseCommandLine, type OptionCheck } from '@/lib/cli';
import { generateAccessKey, generateSecretKey } from '@/lib/auth/secrets';

import { BenchDatabases } from './databases';
import { announceLoad, DaemonFleet, loadFigure } from './ingest';
import { printFigure, progress, round } from './measure';
import { benchQuery } from './query';
import { benchRefresh } from './refresh';
import { startService, type RunningService } from './service';
import { measureStorage } from './storage';

const USAGE = `Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench -- [options]

Measures ingestion, queries, storage and the rollup refresh in one run, against the
PostgreSQL server at DATABASE_URL (an admin connection on 127.0.0.1 that may create
databases). The benchmark creates databases named fleet_bench_<pid>_*, and drops them
at the end, also after a failure or Ctrl-C. Prints one JSON line per figure on stdout and
progress on stderr. A full run took 26 minutes on 2 cores, most of it the first
rollup refresh over the seeded history and the get_stats calls from raw reports.

Options:
  --duration <seconds>   length of each ingest load run, in seconds (default 60)
  --daemons <count>      concurrent simulated daemons in the ingest runs (default 64)
  --workers <count>      workers in the query history (default 100)
  --days <days>          length of the query history, in days (default 7)
  --period <seconds>     interval between two reports in the query history (default 60)
  --rollup-runs <count>  timed get_stats calls from rollups per interval (default 20)
  --raw-runs <count>     timed get_stats calls from raw reports per interval (default 3)
  --query-budget <seconds>  time for the timed get_stats calls per source and interval:
                         no call starts after it, but at least 3 rollup and 1 raw call
                         run (default 180)
  --access-key <key>     bootstrap access key of the service the benchmark starts, sent
                         by the simulated daemons (default: WORKERS_ACCESS_KEY, else
                         CLEARML_API_ACCESS_KEY, else a new random pair)
  --secret-key <key>     its secret key (default: WORKERS_SECRET_KEY, else
                         CLEARML_API_SECRET_KEY, else a new random pair)
  --only <parts>         comma-separated parts to run (default ingest,query):
                         ingest   the ingest and baseline load runs, their ratio and
                                  the storage of the ingested reports
                         query    the seeded history, get_stats and the refresh
  -h, --help             print this help

Quick check of the tool itself (figures not meaningful):
  npm run bench -- --duration 5 --workers 10 --days 0.25 --rollup-runs 3 --raw-runs 1
`;

interface BenchSettings {
  durationSeconds: number;
  daemons: number;
  workers: number;
  days: number;
  periodSeconds: number;
  rollupRuns: number;
  rawRuns: number;
  budgetSeconds: number;
  credentials: ApiCredentials;
  parts: Set<BenchPart>;
}

const BENCH_PARTS = ['ingest', 'query'] as const;
type BenchPart = (typeof BENCH_PARTS)[number];

function parseParts(value: string): Set<BenchPart> {
  const parts = value.split(',').map((part) => part.trim());
  for (const part of parts) {
    if (!(BENCH_PARTS as readonly string[]).includes(part)) {
      throw new Error(`invalid --only part ${JSON.stringify(part)}: expected a comma-separated list of ${BENCH_PARTS.join(', ')}`);
    }
  }

  return new Set(parts as BenchPart[]);
}

function parseBenchArgs(args: string[]): BenchSettings | 'help' {
  const { values } = parseArgs({
    args,
    options: {
      duration: { type: 'string', default: '60' },
      daemons: { type: 'string', default: '64' },
      workers: { type: 'string', default: '100' },
      days: { type: 'string', default: '7' },
      period: { type: 'string', default: '60' },
      'rollup-runs': { type: 'string', default: '20' },
      'raw-runs': { type: 'string', default: '3' },
      'query-budget': { type: 'string', default: '180' },
      'access-key': { type: 'string' },
      'secret-key': { type: 'string' },
      only: { type: 'string', default: BENCH_PARTS.join(',') },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    return 'help';
  }

  const settings: BenchSettings = {
    durationSeconds: Number(values.duration),
    daemons: Number(values.daemons),
    workers: Number(values.workers),
    days: Number(values.days),
    periodSeconds: Number(values.period),
    rollupRuns: Number(values['rollup-runs']),
    rawRuns: Number(values['raw-runs']),
    budgetSeconds: Number(values['query-budget']),
    // The benchmark's service runs on a database of its own, so any pair will do.
    credentials:
      values['access-key'] !== undefined || values['secret-key'] !== undefined || credentialsFromEnv()
        ? resolveCredentials(values['access-key'], values['secret-key'])
        : { accessKey: generateAccessKey(), secretKey: generateSecretKey() },
    parts: parseParts(values.only),
  };
  const wholeIn = (value: number, min: number, max: number) => Number.isInteger(value) && value >= min && value <= max;
  const checks: OptionCheck[] = [
    ['--duration', settings.durationSeconds >= 1 && settings.durationSeconds <= 600, 'seconds, from 1 to 600'],
    ['--daemons', wholeIn(settings.daemons, 1, 512), 'a whole number from 1 to 512'],
    ['--workers', wholeIn(settings.workers, 1, 1000), 'a whole number from 1 to 1000'],
    ['--days', settings.days >= 0.01 && settings.days <= 30, 'days, from 0.01 to 30'],
    ['--period', wholeIn(settings.periodSeconds, 1, 3600), 'whole seconds, from 1 to 3600'],
    ['--rollup-runs', wholeIn(settings.rollupRuns, 1, 1000), 'a whole number from 1 to 1000'],
    ['--raw-runs', wholeIn(settings.rawRuns, 1, 100), 'a whole number from 1 to 100'],
    ['--query-budget', settings.budgetSeconds >= 1 && settings.budgetSeconds <= 3600, 'seconds, from 1 to 3600'],
  ];
  assertOptions(checks, values);

  return settings;
}

/** Returns the service's CPU milliseconds per request between two readings, or null without readings. */
function cpuPerRequestMs(startSeconds: number | null, endSeconds: number | null, requests: number): number | null {
  if (startSeconds === null || endSeconds === null || requests === 0) {
    return null;
  }

  return round(((endSeconds - startSeconds) * 1000) / requests, 3);
}

/**
 * Returns the commit the benchmark runs on, with `+changes` when the engine's sources
 * (db/, lib/, app/, server.ts) differ from it, or null outside a git work tree.
 */
function sourceRevision(): string | null {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const changes = execFileSync('git', ['status', '--porcelain', '--', 'db', 'lib', 'app', 'server.ts'], { encoding: 'utf8' }).trim();

    return changes === '' ? commit : `${commit}+changes`;
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const settings = parseCommandLine(parseBenchArgs, USAGE);
  if (!settings) {
    return;
  }

  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    process.stderr.write('DATABASE_URL is missing: set it to an admin connection, for example postgres://postgres@127.0.0.1:5432/postgres\n');
    process.exit(2);
  }

  const databases = new BenchDatabases(adminUrl);
  const logDir = mkdtempSync(path.join(os.tmpdir(), 'fleet-bench-'));
  let service: RunningService | undefined;
  let ingestSql: postgres.Sql | undefined;
  let queryHandle: DatabaseHandle | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanUp = () => {
    cleaning ??= (async () => {
      await service?.stop();
      // Connections are closed before their databases are dropped: a connection that the
      // DROP terminates under a running query makes the postgres driver throw outside any promise.
      await ingestSql?.end({ timeout: 5 });
      await queryHandle?.close();
      await databases.dropAll();
    })();
    return cleaning;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    progress('signal received, stopping the service and dropping the benchmark databases', { signal });
    void cleanUp().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    const cpus = os.cpus();
    printFigure('machine', {
      cores: cpus.length,
      cpu: cpus[0]?.model.trim(),
      memory_gb: round(os.totalmem() / 2 ** 30, 1),
      postgresql: await databases.serverVersion(),
      node: process.version,
      os: `${os.type()} ${os.release()}`,
      revision: sourceRevision(),
      // The secret key is never printed.
      settings: { ...settings, parts: [...settings.parts], credentials: undefined },
    });

    if (settings.parts.has('ingest')) {
      // 1. Ingest through the real service, then the dry-run baseline on the same service.
      const ingestUrl = await databases.create('ingest');
      service = await startService(ingestUrl, logDir, settings.credentials);
      const fleet = new DaemonFleet(service.url, settings.daemons, basicAuthorization(settings.credentials));
      await fleet.register();
      const durationMs = settings.durationSeconds * 1000;

      announceLoad('workers.status_report', settings.daemons, durationMs);
      const ingestCpuStart = service.cpuSeconds();
      const ingest = await fleet.run('/api/v2.4/workers.status_report', durationMs);
      const ingestCpu = cpuPerRequestMs(ingestCpuStart, service.cpuSeconds(), ingest.requests);
      service.ensureRunning();
      ingestSql = postgres(ingestUrl, { max: 1, onnotice: () => {} });
      const [stored] = await ingestSql<{ reports: number }[]>`SELECT count(*)::int AS reports FROM reports`;
      printFigure('ingest', {
        ...loadFigure(ingest),
        daemons: settings.daemons,
        service_cpu_ms_per_request: ingestCpu,
        stored: stored.reports,
        all_acknowledged_stored: stored.reports === ingest.acknowledged,
      });

      announceLoad('bench.status_report_dry_run', settings.daemons, durationMs);
      const baselineCpuStart = service.cpuSeconds();
      const baseline = await fleet.run('/api/v2.4/bench.status_report_dry_run', durationMs);
      const baselineCpu = cpuPerRequestMs(baselineCpuStart, service.cpuSeconds(), baseline.requests);
      service.ensureRunning();
      printFigure('ingest_baseline', { ...loadFigure(baseline), daemons: settings.daemons, service_cpu_ms_per_request: baselineCpu });
      const ratio = ingest.acknowledged / ingest.seconds / (baseline.acknowledged / baseline.seconds);
      printFigure('ingest_ratio', {
        ratio: round(ratio, 3),
        // The same ratio from the service's CPU time per request, which other load on the machine disturbs less.
        service_cpu_ratio: ingestCpu && baselineCpu ? round(baselineCpu / ingestCpu, 3) : null,
        target: 0.5,
        met: ratio >= 0.5 && ingest.errors === 0 && stored.reports === ingest.acknowledged,
      });
      fleet.close();
      await service.stop();
      service = undefined;

      // 2. Storage of the ingested reports, with no service writing.
      printFigure('storage', await measureStorage(ingestSql));
      await ingestSql.end({ timeout: 5 });
      ingestSql = undefined;
    }

    if (settings.parts.has('query')) {
      // 3. Queries over a seeded history, then 4. the refresh on top of that history.
      const { handle } = await databases.open('query');
      queryHandle = handle;
      await benchQuery(handle, settings);
      await benchRefresh(handle);
      await handle.close();
      queryHandle = undefined;
    }
  } catch (error) {
    progress('benchmark failed', { error: (error as Error).stack ?? String(error), service_log: path.join(logDir, 'service.log') });
    process.exitCode = 1;
  } finally {
    await cleanUp();
    if (process.exitCode !== 1) {
      rmSync(logDir, { recursive: true, force: true });
    }
  }
}

void main();
