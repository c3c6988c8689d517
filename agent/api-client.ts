import { z } from 'zod';

import { envelopeMetaSchema } from '../lib/schemas/envelope';
import {
  emptyResponseSchema,
  registerRequestSchema,
  statusReportRequestSchema,
  unregisterRequestSchema,
  type RegisterRequest,
  type StatusReportRequest,
  type UnregisterRequest,
} from '../lib/schemas/workers';

/** API version put in every request path; the server resolves older endpoints from it. */
export const API_VERSION = '2.30';

/** Result subcode of a status report from a worker the server does not know (400). */
export const INVALID_WORKER_ID_SUBCODE = 1001;

/** Result subcode of an unregister for a worker the server does not know (400). */
export const WORKER_NOT_REGISTERED_SUBCODE = 1004;

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/**
 * Headers added to every request, called once per request so that a later change can
 * refresh a token between calls. Whatever it returns is sent and never logged.
 */
export type HeadersProvider = () => Record<string, string> | Promise<Record<string, string>>;

/** An API credential: HTTP Basic sends it as `base64(access_key:secret_key)`. */
export interface ApiCredentials {
  accessKey: string;
  secretKey: string;
}

/**
 * Reads the credential pair from the environment: WORKERS_ACCESS_KEY and
 * WORKERS_SECRET_KEY, else CLEARML_API_ACCESS_KEY and CLEARML_API_SECRET_KEY (the names
 * clearml-agent reads). Returns undefined when neither pair is complete.
 */
export function credentialsFromEnv(env: Record<string, string | undefined> = process.env): ApiCredentials | undefined {
  for (const [access, secret] of [
    ['WORKERS_ACCESS_KEY', 'WORKERS_SECRET_KEY'],
    ['CLEARML_API_ACCESS_KEY', 'CLEARML_API_SECRET_KEY'],
  ] as const) {
    const accessKey = env[access];
    const secretKey = env[secret];
    if (accessKey && secretKey) {
      return { accessKey, secretKey };
    }
  }

  return undefined;
}

/** Returns the HTTP Basic Authorization header value of a credential. */
export function basicAuthorization(credentials: ApiCredentials): string {
  return `Basic ${Buffer.from(`${credentials.accessKey}:${credentials.secretKey}`, 'utf8').toString('base64')}`;
}

export interface ApiClientOptions {
  /** Server base URL, such as `http://127.0.0.1:3000`; `/api` is appended unless the path already ends with it. */
  server: string;
  /**
   * Credential sent with HTTP Basic on every call. Undefined reads it from the
   * environment (credentialsFromEnv); null sends none.
   */
  credentials?: ApiCredentials | null;
  headers?: HeadersProvider;
  /** Default time limit of one request, in milliseconds. */
  timeoutMs?: number;
}

export interface CallOptions {
  /** Time limit of this request, in milliseconds. */
  timeoutMs?: number;
  /** Aborts the request, for example when the daemon stops. */
  signal?: AbortSignal;
}

/** The server returned an envelope whose result code is not 200, or no valid envelope. */
export class ApiResponseError extends Error {
  readonly endpoint: string;
  readonly httpStatus: number;
  readonly resultCode: number;
  readonly resultSubcode: number;

  constructor(endpoint: string, httpStatus: number, resultCode: number, resultSubcode: number, message: string) {
    super(`${endpoint} failed with ${resultCode}/${resultSubcode}: ${message}`);
    this.name = 'ApiResponseError';
    this.endpoint = endpoint;
    this.httpStatus = httpStatus;
    this.resultCode = resultCode;
    this.resultSubcode = resultSubcode;
  }
}

/** The request never got an HTTP response: connection refused or reset, DNS failure, or timeout. */
export class ApiNetworkError extends Error {
  readonly endpoint: string;
  /** The Node.js error code of the cause (`ECONNREFUSED`, `TimeoutError`, ...), when one exists. */
  readonly code: string | undefined;

  constructor(endpoint: string, cause: unknown) {
    const code = errorCode(cause);
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(`${endpoint} failed without a response: ${code ? `${code}: ` : ''}${detail}`, { cause });
    this.name = 'ApiNetworkError';
    this.endpoint = endpoint;
    this.code = code;
  }
}

/**
 * Returns whether a failed call may succeed when sent again unchanged: network errors,
 * 5xx (the server's database being unreachable is 503) and 429. Other 4xx would fail
 * the same way again.
 */
export function isRetryableError(error: unknown): boolean {
  if (error instanceof ApiNetworkError) {
    return true;
  }

  if (error instanceof ApiResponseError) {
    return error.resultCode >= 500 || error.resultCode === 429;
  }

  return false;
}

/** Returns whether a status report failed because the server does not know the worker. */
export function isWorkerNotRegisteredError(error: unknown): boolean {
  return (
    error instanceof ApiResponseError &&
    error.resultCode === 400 &&
    error.resultSubcode === INVALID_WORKER_ID_SUBCODE
  );
}

// Only the fields the client acts on are required, so that a server adding or dropping
// informational meta fields does not turn a success into a failure.
const responseEnvelopeSchema = z.object({
  meta: envelopeMetaSchema.pick({ result_code: true, result_subcode: true, result_msg: true }),
  data: z.unknown(),
});

/**
 * A client of the ClearML-style `<service>.<action>` API: one POST with a JSON body per
 * call, and a `{meta, data}` envelope in return. A failed call throws ApiResponseError
 * or ApiNetworkError; the typed calls also throw a ZodError for an invalid request. A
 * call aborted through `signal` rejects with the signal's reason. It never retries.
 */
export class ApiClient {
  readonly apiBaseUrl: string;
  private readonly headers: HeadersProvider | undefined;
  private readonly authorization: string | undefined;
  private readonly timeoutMs: number;

  constructor(options: ApiClientOptions) {
    this.apiBaseUrl = apiBaseUrl(options.server);
    this.headers = options.headers;
    const credentials = options.credentials === undefined ? credentialsFromEnv() : options.credentials;
    this.authorization = credentials ? basicAuthorization(credentials) : undefined;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  /** Sends `body` to `endpoint` (such as `workers.register`) and returns the envelope's `data`. */
  async call(endpoint: string, body: object, options: CallOptions = {}): Promise<unknown> {
    const url = `${this.apiBaseUrl}/v${API_VERSION}/${endpoint}`;
    const timeout = AbortSignal.timeout(options.timeoutMs ?? this.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    const extraHeaders = this.headers ? await this.headers() : {};

    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: {
          ...(this.authorization ? { authorization: this.authorization } : {}),
          ...extraHeaders,
          'content-type': 'application/json',
        },
        body: JSON.stringify(body),
        signal,
      });
      text = await response.text();
    } catch (error) {
      // A stop of the caller is not a network failure: let the AbortError through.
      if (options.signal?.aborted) {
        throw options.signal.reason ?? error;
      }
      throw new ApiNetworkError(endpoint, error);
    }

    const envelope = parseEnvelope(text);
    if (!envelope) {
      throw new ApiResponseError(
        endpoint,
        response.status,
        response.status,
        0,
        `invalid response envelope (HTTP ${response.status}, ${text.length} bytes)`,
      );
    }

    const { result_code: resultCode, result_subcode: resultSubcode, result_msg: resultMessage } = envelope.meta;
    if (resultCode !== 200) {
      throw new ApiResponseError(endpoint, response.status, resultCode, resultSubcode, resultMessage);
    }

    return envelope.data;
  }

  async register(request: RegisterRequest, options?: CallOptions): Promise<void> {
    const data = await this.call('workers.register', registerRequestSchema.parse(request), options);
    emptyResponseSchema.parse(data);
  }

  async statusReport(request: StatusReportRequest, options?: CallOptions): Promise<void> {
    const data = await this.call('workers.status_report', statusReportRequestSchema.parse(request), options);
    emptyResponseSchema.parse(data);
  }

  async unregister(request: UnregisterRequest, options?: CallOptions): Promise<void> {
    const data = await this.call('workers.unregister', unregisterRequestSchema.parse(request), options);
    emptyResponseSchema.parse(data);
  }
}

/**
 * Returns the URL under which `<service>.<action>` paths live: the server URL with `/api`
 * appended, unless its path already ends with `/api` (as ClearML `api_server` settings do).
 */
export function apiBaseUrl(server: string): string {
  const url = new URL(server);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`invalid server URL ${JSON.stringify(server)}: the scheme must be http or https`);
  }

  const path = url.pathname.replace(/\/+$/, '');
  url.pathname = path.endsWith('/api') ? path : `${path}/api`;
  url.search = '';
  url.hash = '';

  return url.toString().replace(/\/+$/, '');
}

function parseEnvelope(text: string): z.infer<typeof responseEnvelopeSchema> | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }

  const parsed = responseEnvelopeSchema.safeParse(json);

  return parsed.success ? parsed.data : undefined;
}

// fetch wraps socket errors: the code (ECONNREFUSED, ECONNRESET, ...) sits on the cause.
function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth += 1) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === 'string') {
      return code;
    }
    if (current.name === 'TimeoutError') {
      return 'TimeoutError';
    }
    current = current.cause;
  }

  return undefined;
}
