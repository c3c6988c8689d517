import { request as httpRequest, type Agent, type OutgoingHttpHeaders } from 'node:http';

import { basicAuthorization } from '@/agent/api-client';
import type { EnvelopeMeta } from '@/lib/schemas/envelope';

/** A response of the API as the test saw it on the wire. */
export interface ApiCallResult {
  /** HTTP status code. */
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Raw response body. */
  text: string;
  /** The envelope's meta, parsed. */
  meta: EnvelopeMeta;
  // The data shape depends on the endpoint, and tests compare it with toEqual, so it
  // stays untyped here.
  data: any;
}

export interface RawRequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | 'HEAD';
  /** Path with its query string, for example `/api/v2.30/workers.get_all?last_seen=0`. */
  path: string;
  /**
   * Body bytes sent as they are; undefined sends no body. With `transfer-encoding:
   * chunked` among the headers the body goes without Content-Length.
   */
  body?: string | Buffer;
  headers?: OutgoingHttpHeaders;
  /**
   * False sends no credential. By default the request carries HTTP Basic with the test
   * run's pair (WORKERS_ACCESS_KEY and WORKERS_SECRET_KEY), unless `headers` has its own
   * Authorization header.
   */
  authenticated?: boolean;
  /**
   * Connection pool to send through. By default each request opens its own connection,
   * so that one test's broken connection cannot fail the next test.
   */
  agent?: Agent;
}

/**
 * Sends one HTTP request to 127.0.0.1 with node:http, which (unlike fetch) can send a
 * GET with a body, as clearml-agent does. Resolves with the status, headers and body
 * once the response has ended.
 */
export function sendRawRequest(
  baseUrl: string,
  options: RawRequestOptions,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  const url = new URL(options.path, baseUrl);
  const headers: OutgoingHttpHeaders = { ...options.headers };
  const hasAuthorization = Object.keys(headers).some((name) => name.toLowerCase() === 'authorization');
  if (options.authenticated !== false && !hasAuthorization) {
    headers.authorization = testAuthorization();
  }
  const chunked = headers['transfer-encoding'] === 'chunked';
  if (options.body !== undefined && !chunked && headers['content-length'] === undefined) {
    headers['content-length'] = Buffer.byteLength(options.body);
  }

  return new Promise((resolve, reject) => {
    const request = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        method: options.method ?? 'POST',
        headers,
        agent: options.agent ?? false,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    request.on('error', reject);
    request.end(options.body);
  });
}

/** Returns the HTTP Basic header of the test run's bootstrap pair, set in vitest.config.ts. */
export function testAuthorization(): string {
  const { WORKERS_ACCESS_KEY: accessKey, WORKERS_SECRET_KEY: secretKey } = process.env;
  if (!accessKey || !secretKey) {
    throw new Error('WORKERS_ACCESS_KEY and WORKERS_SECRET_KEY are not set: run the tests through vitest.config.ts');
  }

  return basicAuthorization({ accessKey, secretKey });
}

/** Sends a request and parses the envelope. Throws when the body is not JSON. */
export async function sendApiRequest(baseUrl: string, options: RawRequestOptions): Promise<ApiCallResult> {
  const response = await sendRawRequest(baseUrl, options);

  let parsed: { meta: EnvelopeMeta; data: unknown };
  try {
    parsed = JSON.parse(response.text) as { meta: EnvelopeMeta; data: unknown };
  } catch {
    throw new Error(`${options.method ?? 'POST'} ${options.path} returned ${response.status} with a body that is not JSON: ${response.text.slice(0, 200)}`);
  }

  return { ...response, meta: parsed.meta, data: parsed.data };
}

export interface CallOptions {
  method?: 'GET' | 'POST' | 'PUT';
  /** Schema version put in the path as `/api/v<version>/`; none means the unversioned path. */
  version?: string;
  /** Query string, without the leading `?`. */
  query?: string;
  headers?: OutgoingHttpHeaders;
  /** False sends no credential; see RawRequestOptions. */
  authenticated?: boolean;
}

/**
 * Calls `<endpoint>` (for example `workers.get_all`) with `body` as JSON, by POST
 * unless `options.method` sets another method, and returns the response with its envelope.
 */
export function callApi(baseUrl: string, endpoint: string, body?: unknown, options: CallOptions = {}): Promise<ApiCallResult> {
  const prefix = options.version === undefined ? '/api/' : `/api/v${options.version}/`;
  const query = options.query ? `?${options.query}` : '';

  return sendApiRequest(baseUrl, {
    method: options.method ?? 'POST',
    path: `${prefix}${endpoint}${query}`,
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...options.headers },
    authenticated: options.authenticated,
  });
}

/** Builds the `meta` fields, all but id and trx, of a successful call of `endpoint`. */
export function okMeta(endpoint: string, requestedVersion = '2.30', actualVersion = requestedVersion) {
  return {
    endpoint: { name: endpoint, requested_version: requestedVersion, actual_version: actualVersion },
    result_code: 200,
    result_subcode: 0,
    result_msg: 'OK',
    error_stack: null,
    error_data: {},
  };
}

/** A mutable clock for the test server. The server reads `now()` on every call, and tests move it. */
export class TestClock {
  /** Milliseconds since the epoch. */
  private current: number;

  constructor(start: string | Date) {
    this.current = new Date(start).getTime();
  }

  readonly now = (): Date => new Date(this.current);

  /** Moves the clock forward by `seconds` (fractions allowed). */
  advance(seconds: number): void {
    this.current += seconds * 1000;
  }

  set(time: string | Date): void {
    this.current = new Date(time).getTime();
  }

  /** Returns the current time in seconds since the epoch. */
  seconds(): number {
    return this.current / 1000;
  }
}
