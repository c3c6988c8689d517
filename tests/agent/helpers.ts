import { Writable } from 'node:stream';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import pino, { type Logger } from 'pino';

/** One parsed pino line. */
export type LogLine = Record<string, unknown> & { msg: string; level: number };

/** Creates a real pino logger whose JSON lines are kept in `lines` for assertions. */
export function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const text of chunk.toString('utf8').split('\n')) {
        if (text.trim() !== '') {
          lines.push(JSON.parse(text) as LogLine);
        }
      }
      callback();
    },
  });

  return { logger: pino({ level: 'debug' }, stream), lines };
}

export interface RecordedRequest {
  endpoint: string;
  body: Record<string, unknown>;
  headers: http.IncomingHttpHeaders;
}

export interface EnvelopeServer {
  url: string;
  port: number;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/**
 * Starts a small HTTP server on 127.0.0.1 that records each request and responds with
 * `respond`, for client tests that need exact control of status and body.
 */
export async function startEnvelopeServer(
  respond: (request: RecordedRequest) => { status: number; body: string },
): Promise<EnvelopeServer> {
  const requests: RecordedRequest[] = [];
  const server = http.createServer((request, response) => {
    let text = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      text += chunk;
    });
    request.on('end', () => {
      const recorded: RecordedRequest = {
        endpoint: request.url?.split('/').pop() ?? '',
        body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
        headers: request.headers,
      };
      requests.push(recorded);
      const { status, body } = respond(recorded);
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(body);
    });
  });

  return listen(server, requests);
}

/** Returns the JSON text of a ClearML envelope with the given result. */
export function envelope(resultCode: number, resultSubcode = 0, message = 'OK', data: unknown = {}): string {
  return JSON.stringify({
    meta: {
      id: 'request-id',
      trx: 'request-id',
      endpoint: { name: 'workers.test', requested_version: '2.30', actual_version: '2.30' },
      result_code: resultCode,
      result_subcode: resultSubcode,
      result_msg: message,
      error_stack: null,
      error_data: {},
    },
    data,
  });
}

export interface FaultProxy {
  url: string;
  /** While true, every request gets a 503 response without reaching the target. */
  failing: boolean;
  /** Requests rejected with 503 so far. */
  rejected: number;
  close(): Promise<void>;
}

/** Starts an HTTP proxy on 127.0.0.1 to `targetUrl` that responds 503 while `failing` is set. */
export async function startFaultProxy(targetUrl: string): Promise<FaultProxy> {
  const target = new URL(targetUrl);
  const state = { failing: false, rejected: 0 };
  const server = http.createServer((request, response) => {
    if (state.failing) {
      state.rejected += 1;
      request.resume();
      response.writeHead(503, { 'content-type': 'text/plain' });
      response.end('service unavailable');
      return;
    }

    const upstream = http.request(
      { host: target.hostname, port: target.port, path: request.url, method: request.method, headers: request.headers },
      (upstreamResponse) => {
        response.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
        upstreamResponse.pipe(response);
      },
    );
    upstream.on('error', () => {
      response.writeHead(502);
      response.end();
    });
    request.pipe(upstream);
  });

  const listening = await listen(server, []);
  const proxy: FaultProxy = {
    url: listening.url,
    get failing() {
      return state.failing;
    },
    set failing(value: boolean) {
      state.failing = value;
    },
    get rejected() {
      return state.rejected;
    },
    close: listening.close,
  };

  return proxy;
}

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
export async function findFreePort(): Promise<number> {
  const server = http.createServer();
  const { port, close } = await listen(server, []);
  await close();

  return port;
}

function listen(server: http.Server, requests: RecordedRequest[]): Promise<EnvelopeServer> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        port,
        requests,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
