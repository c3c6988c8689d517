import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

import postgres from 'postgres';

import { basicAuthorization } from '@/agent/api-client';
import { generateAccessKey, generateSecretKey } from '@/lib/auth/secrets';

import { startTemporaryCluster, type TemporaryCluster } from '../tests/helpers/cluster';

import { DaemonFleet, type ReportResponse } from './ingest';
import { percentile, printFigure, progress, round } from './measure';
import { startService, type RunningService } from './service';

const USAGE = `Usage: npm run bench:fault -- [options]

Restarts PostgreSQL under ingest load and checks that every acknowledged report was
stored. Creates a PostgreSQL 15 cluster of its own in a temporary folder (initdb and
pg_ctl from /usr/lib/postgresql/15/bin, or POSTGRES_BIN), starts the service on it as
npm start does, sends status reports from simulated daemons, stops the server with
pg_ctl stop -m fast, starts it again, and then compares the reports the service
acknowledged with 200 against the stored ones. Prints one JSON line per figure on stdout
and progress on stderr. The cluster and the service are removed at the end, also after a
failure or Ctrl-C. Exits with status 1 when an acknowledged report is missing.

Options:
  --daemons <count>    concurrent simulated daemons (default 32)
  --duration <seconds> length of the load run (default 40)
  --stop-at <seconds>  seconds into the run when PostgreSQL stops (default 10)
  --down <seconds>     seconds PostgreSQL stays stopped (default 5)
  -h, --help           print this help
`;

interface FaultSettings {
  daemons: number;
  durationSeconds: number;
  stopAtSeconds: number;
  downSeconds: number;
}

function parseSettings(): FaultSettings {
  const { values } = parseArgs({
    options: {
      daemons: { type: 'string', default: '32' },
      duration: { type: 'string', default: '40' },
      'stop-at': { type: 'string', default: '10' },
      down: { type: 'string', default: '5' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }

  const number = (name: string, text: string, minimum: number) => {
    const value = Number(text);
    if (!Number.isFinite(value) || value < minimum) {
      throw new Error(`invalid --${name} ${JSON.stringify(text)}: expected a number of at least ${minimum}\n\n${USAGE}`);
    }
    return value;
  };
  const settings = {
    daemons: Math.floor(number('daemons', values.daemons, 1)),
    durationSeconds: number('duration', values.duration, 1),
    stopAtSeconds: number('stop-at', values['stop-at'], 0),
    downSeconds: number('down', values.down, 0),
  };
  if (settings.stopAtSeconds + settings.downSeconds >= settings.durationSeconds) {
    throw new Error(`--stop-at plus --down (${settings.stopAtSeconds + settings.downSeconds} s) must end before --duration (${settings.durationSeconds} s)`);
  }

  return settings;
}

/** Milliseconds since the run started, from the monotonic clock. */
type RunClock = () => number;

/** Stops PostgreSQL at `stopAtMs` into the run and starts it again `downMs` later; returns when it runs again. */
async function restartDuringRun(cluster: TemporaryCluster, clock: RunClock, stopAtMs: number, downMs: number): Promise<{ stoppedAtMs: number; startedAtMs: number }> {
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, stopAtMs - clock())));
  progress('stopping PostgreSQL (pg_ctl stop -m fast)');
  await cluster.stop();
  const stoppedAtMs = clock();

  await new Promise((resolve) => setTimeout(resolve, downMs));
  progress('starting PostgreSQL');
  await cluster.start();
  const startedAtMs = clock();

  return { stoppedAtMs, startedAtMs };
}

/** Key of one report: its worker and timestamp in milliseconds. */
function reportKey(workerId: string, timestampMs: number | bigint | string): string {
  return `${workerId}\u0000${timestampMs}`;
}

/** Counts the worker entries in the database. */
async function countWorkers(databaseUrl: string): Promise<number> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql<{ count: string }[]>`SELECT count(*) AS count FROM workers`;

    return Number(row.count);
  } finally {
    await sql.end();
  }
}

/** Counts the stored reports per worker and timestamp (milliseconds). */
async function storedReports(databaseUrl: string): Promise<Map<string, number>> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql<{ worker_id: string; ms: string; count: string }[]>`
      SELECT worker_id, (extract(epoch FROM time) * 1000)::bigint AS ms, count(*) AS count
      FROM reports GROUP BY 1, 2`;

    return new Map(rows.map((row) => [reportKey(row.worker_id, row.ms), Number(row.count)]));
  } finally {
    await sql.end();
  }
}

async function main(): Promise<void> {
  const settings = parseSettings();
  // The service log is kept only when the run fails.
  const logDir = mkdtempSync(path.join(os.tmpdir(), 'fleet-fault-'));
  let keepLog = true;

  let cluster: TemporaryCluster | undefined;
  let service: RunningService | undefined;
  let fleet: DaemonFleet | undefined;
  const cleanUp = async () => {
    fleet?.close();
    await service?.stop();
    await cluster?.remove();
  };
  process.once('SIGINT', () => {
    progress('interrupted, removing the cluster and stopping the service');
    void cleanUp().finally(() => process.exit(130));
  });

  try {
    cluster = await startTemporaryCluster();
    progress('temporary PostgreSQL cluster started', { url: cluster.url });
    // The service runs on a cluster of its own, so a fresh pair is its bootstrap credential.
    const credentials = { accessKey: generateAccessKey(), secretKey: generateSecretKey() };
    service = await startService(cluster.url, logDir, credentials);

    fleet = new DaemonFleet(service.url, settings.daemons, basicAuthorization(credentials));
    await fleet.register();
    const registered = await countWorkers(cluster.url);
    if (registered !== settings.daemons) {
      throw new Error(`the temporary cluster holds ${registered} workers after registering ${settings.daemons}: the service at ${service.url} does not use it`);
    }

    const responses: ReportResponse[] = [];
    const runStartedMs = performance.now();
    const clock: RunClock = () => performance.now() - runStartedMs;
    const timeline: { atMs: number; status: number; latencyMs: number }[] = [];
    const recordResponse = (response: ReportResponse) => {
      responses.push(response);
      timeline.push({ atMs: clock(), status: response.status, latencyMs: response.latencyMs });
    };

    progress('load run starting', { daemons: settings.daemons, seconds: settings.durationSeconds, stop_at: settings.stopAtSeconds, down: settings.downSeconds });
    const [load, restart] = await Promise.all([
      fleet.run('/api/v2.4/workers.status_report', settings.durationSeconds * 1000, recordResponse),
      restartDuringRun(cluster, clock, settings.stopAtSeconds * 1000, settings.downSeconds * 1000),
    ]);

    const alive = await fetch(`${service.url}/api/workers.get_count`, { method: 'POST', body: '{}' }).then(
      (response) => response.status,
      () => 0,
    );

    const stored = await storedReports(cluster.url);
    const acknowledged = new Map<string, number>();
    for (const response of responses) {
      if (response.status === 200) {
        const key = reportKey(fleet.workerId(response.index), response.timestampMs);
        acknowledged.set(key, (acknowledged.get(key) ?? 0) + 1);
      }
    }
    let missing = 0;
    for (const [key, count] of acknowledged) {
      missing += Math.max(0, count - (stored.get(key) ?? 0));
    }
    const storedCount = [...stored.values()].reduce((sum, count) => sum + count, 0);

    const statuses: Record<string, number> = {};
    for (const response of responses) {
      statuses[String(response.status)] = (statuses[String(response.status)] ?? 0) + 1;
    }
    const duringOutage = timeline.filter((entry) => entry.atMs >= restart.stoppedAtMs && entry.atMs <= restart.startedAtMs);
    const firstOkAfterStart = timeline.find((entry) => entry.atMs > restart.startedAtMs && entry.status === 200);

    printFigure('fault_restart', {
      daemons: settings.daemons,
      seconds: round(load.seconds, 2),
      reports: load.requests,
      acknowledged: load.acknowledged,
      statuses,
      stored: storedCount,
      acknowledged_missing: missing,
      stored_unacknowledged: storedCount - load.acknowledged + missing,
      outage_seconds: round((restart.startedAtMs - restart.stoppedAtMs) / 1000, 2),
      outage_responses: duringOutage.length,
      outage_max_ms: round(Math.max(0, ...duringOutage.map((entry) => entry.latencyMs)), 1),
      outage_p99_ms: round(percentile(duringOutage.map((entry) => entry.latencyMs), 0.99), 1),
      recovery_ms: firstOkAfterStart ? round(firstOkAfterStart.atMs - restart.startedAtMs, 1) : null,
      p99_ms: round(percentile(load.latenciesMs, 0.99), 1),
      service_status_after: alive,
    });

    if (missing > 0 || alive !== 200) {
      progress('fault check failed: acknowledged reports are missing, or the service returned no 200 after the run', { missing, service_status_after: alive, service_log: service.logPath });
      process.exitCode = 1;
    } else {
      keepLog = false;
    }
  } finally {
    await cleanUp();
    if (!keepLog) {
      rmSync(logDir, { recursive: true, force: true });
    }
  }
}

main().catch((error: unknown) => {
  progress('fault benchmark failed', { error: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
