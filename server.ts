import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

import next from 'next';

import { prepareApiRequest } from '@/lib/api/http';
import { signInRedirect } from '@/lib/auth/dashboard';
import { closeServiceDatabase, getServiceDatabase } from '@/lib/database';
import { logger } from '@/lib/log';
import { jobSettingsFromEnv, startBackgroundJobs, type BackgroundJobs } from '@/lib/stats/jobs';

/**
 * Starts the service's HTTP server: Next.js (dashboard pages and the /api route handler)
 * behind a Node server that keeps the GET bodies daemons send and sets the caller's
 * address. Migrations are applied before the port opens.
 *
 * Environment: PORT (default 3000), HOST (default 0.0.0.0), DATABASE_URL (PostgreSQL;
 * unset: embedded PGlite in WORKERS_DATA_DIR, default ./data), WORKERS_TRUST_PROXY=1 to
 * take the caller's address from X-Forwarded-For, LOG_LEVEL (default info), and the
 * rollup and retention settings of lib/stats/jobs.ts.
 */
async function main(): Promise<void> {
  const dev = process.argv.includes('--dev');
  const port = Number(process.env.PORT ?? 3000);
  const host = process.env.HOST ?? '0.0.0.0';
  const trustProxy = process.env.WORKERS_TRUST_PROXY === '1' || process.env.WORKERS_TRUST_PROXY === 'true';
  const jobSettings = jobSettingsFromEnv();

  logger.info({ port, host, dev, trust_proxy: trustProxy }, 'service starting');

  const database = await getServiceDatabase();
  logger.info(
    {
      database: database.kind,
      data_dir: database.kind === 'pglite' ? (process.env.WORKERS_DATA_DIR ?? 'data') : undefined,
    },
    'database ready',
  );

  const app = next({ dev, hostname: host, port });
  const handle = app.getRequestHandler();
  await app.prepare();

  // Pages need a session: without a valid one they redirect to the sign-in page.
  const serve = async (request: IncomingMessage, response: ServerResponse) => {
    const location = await signInRedirect(request.method ?? 'GET', request.url ?? '/', request.headers.cookie);
    if (location) {
      response.writeHead(303, { location, 'cache-control': 'no-store' }).end();
      return;
    }

    await handle(request, response);
  };

  const server = createServer((request, response) => {
    // Every request: the caller's address header must be set by the server on any path.
    prepareApiRequest(request, trustProxy);
    serve(request, response).catch((error: unknown) => {
      logger.error({ err: error, url: request.url }, 'request handler failed');
      if (!response.headersSent) {
        response.statusCode = 500;
        response.end();
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  logger.info({ port, host, url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}/` }, 'service listening');

  const jobs = startBackgroundJobs(database.db, logger, jobSettings);
  logger.info({ ...jobSettings }, 'background jobs started');

  handleShutdown(server, jobs);
}

function handleShutdown(server: Server, jobs: BackgroundJobs): void {
  let stopping = false;

  const stop = async (signal: string) => {
    if (stopping) {
      return;
    }
    stopping = true;
    logger.info({ signal }, 'service stopping');

    // Open keep-alive connections would hold close() until they time out.
    const forced = setTimeout(() => {
      logger.warn({ signal }, 'service stop timed out after 10 s, exiting');
      process.exit(1);
    }, 10_000);
    forced.unref();

    server.closeIdleConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await jobs.stop();
    await closeServiceDatabase();
    logger.info({ signal }, 'service stopped');
    process.exit(0);
  };

  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

process.on('unhandledRejection', (reason) => {
  logger.error({ err: reason }, 'unhandled promise rejection');
});

main().catch((error: unknown) => {
  logger.fatal({ err: error }, 'service failed to start');
  process.exit(1);
});
