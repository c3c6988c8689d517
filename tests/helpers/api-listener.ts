import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';

import { dispatch, type ApiDependencies } from '@/lib/api/dispatch';
import { CLIENT_IP_HEADER, ORIGINAL_METHOD_HEADER, prepareApiRequest } from '@/lib/api/http';

/**
 * Builds a node:http request listener that serves the API under /api/ with the service's
 * request preparation and dispatcher, but without Next.js, which needs a build. Other
 * paths get an empty 404.
 */
export function createApiListener(
  dependencies: ApiDependencies,
  trustProxy: boolean,
): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (!url.pathname.startsWith('/api/')) {
      response.writeHead(404).end();
      return;
    }

    prepareApiRequest(request, trustProxy);
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
        dependencies.logger.error({ err: error, url: request.url }, 'dispatch failed');
        response.writeHead(500).end();
      },
    );
  };
}
