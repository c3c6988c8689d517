import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { ApiDependencies } from '@/lib/api/dispatch';
import { getServiceAuthenticator } from '@/lib/auth/service';
import { openServiceDatabase } from '@/lib/database';
import { logger } from '@/lib/log';
import { jobSettingsFromEnv, startBackgroundJobs, type BackgroundJobs } from '@/lib/stats/jobs';

import { createApiListener } from '../helpers/api-listener';

/**
 * Serves the workers API on 127.0.0.1 as one service instance, with the service's
 * request preparation and dispatcher but without the Next.js pages, which need a build.
 * It opens the PostgreSQL database of DATABASE_URL through openServiceDatabase, so it
 * applies the migrations at start as the service does. The multi-instance test runs
 * two of these processes against one database.
 *
 * Environment: DATABASE_URL (required), PORT (default 0, a free port chosen by the
 * system), LOG_LEVEL, and API_SERVER_NOW: an ISO 8601 time at which the clock stays
 * fixed, so that register and report times are exact. Without it the clock is the real
 * time. The `api server listening` log line carries the port.
 *
 * With `--background-jobs` it also runs the rollup refresh and the retention as
 * server.ts does, with the settings of lib/stats/jobs.ts from the environment
 * (WORKERS_REFRESH_SECONDS and the others). The jobs use the real clock, also when
 * API_SERVER_NOW is set.
 *
 * With `--exit-with-stdin` the process exits when its stdin ends, so that a test runner
 * that dies without stopping it does not leave it running.
 */
async function main(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    throw new Error('DATABASE_URL is not set: the API server needs a PostgreSQL database shared by its instances');
  }
  const port = Number(process.env.PORT ?? 0);
  const now = clockFromEnv(process.env.API_SERVER_NOW);
  const jobSettings = process.argv.includes('--background-jobs') ? jobSettingsFromEnv() : undefined;

  logger.info({ pid: process.pid, fixed_now: process.env.API_SERVER_NOW }, 'api server starting');
  const database = await openServiceDatabase({ kind: 'postgres', url: databaseUrl });
  logger.info({ pid: process.pid }, 'database ready');

  const dependencies: ApiDependencies = { database: async () => database.db, now, logger, authenticator: getServiceAuthenticator() };

  const server = createServer(createApiListener(dependencies, false));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const listeningPort = (server.address() as AddressInfo).port;
  logger.info({ pid: process.pid, port: listeningPort }, 'api server listening');

  let jobs: BackgroundJobs | undefined;
  if (jobSettings) {
    jobs = startBackgroundJobs(database.db, logger, jobSettings);
    logger.info({ pid: process.pid, ...jobSettings }, 'background jobs started');
  }

  let stopping = false;
  const stop = async (reason: string) => {
    if (stopping) {
      return;
    }
    stopping = true;
    logger.info({ pid: process.pid, reason }, 'api server stopping');

    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await jobs?.stop();
    await database.close();
    logger.info({ pid: process.pid, reason }, 'api server stopped');
    process.exit(0);
  };

  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  if (process.argv.includes('--exit-with-stdin')) {
    process.stdin.on('end', () => void stop('stdin ended'));
    process.stdin.resume();
  }
}

/** Returns a clock fixed at `fixed` (ISO 8601), or the real clock when it is unset. */
function clockFromEnv(fixed: string | undefined): () => Date {
  if (fixed === undefined || fixed === '') {
    return () => new Date();
  }

  const milliseconds = Date.parse(fixed);
  if (Number.isNaN(milliseconds)) {
    throw new Error(`invalid API_SERVER_NOW "${fixed}": expected an ISO 8601 time such as 2026-01-01T01:00:00.000Z`);
  }

  return () => new Date(milliseconds);
}

main().catch((error: unknown) => {
  logger.fatal({ err: error, pid: process.pid }, 'api server failed to start');
  process.exit(1);
});
