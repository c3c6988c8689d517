import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { DatabaseHandle } from '@/db/client';
import { logger } from '@/lib/log';

import { createApiListener } from './api-listener';
import { createTestDatabase, type TestTarget } from './database';

export interface TestServer {
  url: string;
  port: number;
  database: DatabaseHandle;
  close(): Promise<void>;
}

export interface TestServerOptions {
  port?: number;
  target?: TestTarget;
  /** The clock of every call; defaults to the real time. */
  now?: () => Date;
  trustProxy?: boolean;
}

/**
 * Serves the real API (the same request preparation and dispatcher as the service,
 * without the Next.js pages) over real HTTP on 127.0.0.1, on a fresh database.
 */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const database = await createTestDatabase(options.target ?? 'pglite');
  const dependencies = { database: async () => database.db, now: options.now ?? (() => new Date()), logger };

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
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await database.close();
    },
  };
}
