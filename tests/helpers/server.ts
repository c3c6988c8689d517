import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Logger as QueryLogger } from 'drizzle-orm';

import type { DatabaseHandle } from '@/db/client';
import { openServiceDatabase } from '@/lib/database';
import { Authenticator } from '@/lib/auth/authenticator';
import { authSettingsFromEnv } from '@/lib/auth/bootstrap';
import { logger } from '@/lib/log';

import { createApiListener } from './api-listener';
import { createTestDatabase, type TestTarget } from './database';

export interface TestServer {
  url: string;
  port: number;
  database: DatabaseHandle;
  /** The server's authenticator, whose cache of verified credentials the tests may observe. */
  authenticator: Authenticator;
  close(): Promise<void>;
}

export interface TestServerOptions {
  port?: number;
  target?: TestTarget;
  /** The clock of every call; defaults to the real time. */
  now?: () => Date;
  trustProxy?: boolean;
  /**
   * A PostgreSQL database to serve from instead of a fresh one for `target`: the server
   * migrates it, and `close` leaves it in place.
   */
  databaseUrl?: string;
  /** Clock of the authenticator's revalidation interval, in milliseconds. */
  monotonicNow?: () => number;
  /** Receives every statement the server's database handle sends. */
  queryLogger?: QueryLogger;
}

/**
 * Serves the real API (the same request preparation, authentication and dispatcher as
 * the service, without the Next.js pages) over real HTTP on 127.0.0.1, on a fresh
 * database. The database's bootstrap credential is the test run's pair from the
 * environment (vitest.config.ts), which the helpers of api.ts send by default.
 */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const database = options.databaseUrl
    ? await openServiceDatabase({ kind: 'postgres', url: options.databaseUrl, maxConnections: 4, queryLogger: options.queryLogger })
    : await createTestDatabase(options.target ?? 'pglite', options.queryLogger);
  const authenticator = new Authenticator({ jwtSecret: authSettingsFromEnv().jwtSecret, monotonicNow: options.monotonicNow });
  const dependencies = { database: async () => database.db, now: options.now ?? (() => new Date()), logger, authenticator };

  const server = createServer(createApiListener(dependencies, options.trustProxy ?? false));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    database,
    authenticator,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await database.close();
    },
  };
}
