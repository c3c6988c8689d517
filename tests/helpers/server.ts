import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';

import type { Logger as QueryLogger } from 'drizzle-orm';

import type { DatabaseHandle } from '@/db/client';
import { dispatch } from '@/lib/api/dispatch';
import { CLIENT_IP_HEADER, ORIGINAL_METHOD_HEADER, prepareApiRequest } from '@/lib/api/http';
import { logger } from '@/lib/log';

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
  /** Receives every statement the server's database handle sends. */
  queryLogger?: QueryLogger;
}

/**
 * Serves the real API (the same request preparation and dispatcher as the service,
 * without the Next.js pages) over real HTTP on 127.0.0.1, on a fresh database.
 */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const database = await createTestDatabase(options.target ?? 'pglite', options.queryLogger);
  const dependencies = { database: async () => database.db, now: options.now ?? (() => new Date()), logger };

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (!url.pathname.startsWith('/api/')) {
      response.writeHead(404).end();
      return;
    }

    prepareApiRequest(request, options.trustProxy ?? false);
    const headers = new Headers();
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined) {
        headers.set(name, Array.isArray(value) ? value.join(', ') : value);
      }
    }

    dispatch(
      {
        method: headers.get(ORIGINAL_METHOD_HEADER) ?? request.method ?? 'GET',
        pathname: url.pathname,
        searchParams: url.searchParams,
        headers,
        body: Readable.toWeb(request) as ReadableStream<Uint8Array>,
        clientIp: headers.get(CLIENT_IP_HEADER) ?? '',
      },
      dependencies,
    ).then(
      (result) => {
        response.writeHead(result.status, {
          'content-type': 'application/json',
          ...(result.closeConnection ? { connection: 'close' } : {}),
        });
        response.end(JSON.stringify(result.body));
      },
      (error: unknown) => {
        logger.error({ err: error }, 'test server dispatch failed');
        response.writeHead(500).end();
      },
    );
  });

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
