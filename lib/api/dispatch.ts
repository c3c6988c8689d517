import { randomUUID } from 'node:crypto';

import type { Database } from '@/db/client';
import type { Authenticator } from '@/lib/auth/authenticator';
import type { EnvelopeMeta } from '@/lib/schemas/envelope';
import type { Logger } from '@/lib/log';

import { isDatabaseUnavailable } from './database-errors';
import type { Endpoint } from './endpoint';
import { ENDPOINTS } from './endpoints';
import { ApiError, apiErrors } from './errors';
import { mergeQuery, parseBody, readBody, removeNullFields, validateRequest } from './request';
import { NEWEST_VERSION, formatVersion, parseVersion, resolveVersion } from './versions';

/** An HTTP request to the API, independent of the server framework. */
export interface ApiRequest {
  method: string;
  /** URL path, for example `/api/v2.30/workers.get_all`. */
  pathname: string;
  searchParams: URLSearchParams;
  headers: Headers;
  body: ReadableStream<Uint8Array> | null;
  clientIp: string;
}

export interface ApiResponse {
  status: number;
  body: { meta: EnvelopeMeta; data: unknown };
  /**
   * True when the request body was not read to its end (a body over the limit): the
   * connection must close, because unread bytes would be taken for the next request.
   */
  closeConnection: boolean;
}

export interface ApiDependencies {
  database(): Promise<Database>;
  now(): Date;
  logger: Logger;
  authenticator: Authenticator;
}

interface ParsedPath {
  name: string;
  requestedVersion: string;
  /** False when the path has more segments than `[v<version>/]<service>.<action>`. */
  wellFormed: boolean;
}

// `/api/<service>.<action>` or `/api/v<major>.<minor>/<service>.<action>`, with an
// optional trailing slash.
const PATH_PATTERN = /^\/api\/(?:v([^/]*)\/)?([^/]*)\/?$/;

function parsePath(pathname: string): ParsedPath {
  const match = PATH_PATTERN.exec(pathname);
  if (!match) {
    return { name: pathname.replace(/^\/api\/?/, ''), requestedVersion: NEWEST_VERSION, wellFormed: false };
  }

  return { name: match[2], requestedVersion: match[1] ?? NEWEST_VERSION, wellFormed: true };
}

function resolveEndpoint(path: ParsedPath): { endpoint: Endpoint; actualVersion: string } {
  const requested = parseVersion(path.requestedVersion);
  const endpoint = path.wellFormed ? ENDPOINTS.get(path.name) : undefined;
  const actualVersion = endpoint ? resolveVersion(requested, endpoint.versions) : null;
  if (!endpoint || !actualVersion) {
    throw apiErrors.endpointNotFound(path.name, formatVersion(requested));
  }

  return { endpoint, actualVersion };
}

// clearml-agent sends GET with a JSON body; scripts and browsers use POST and GET.
const ALLOWED_METHODS = new Set(['GET', 'POST', 'PUT']);

function requestId(): string {
  return randomUUID().replaceAll('-', '');
}

/**
 * Handles one API call end to end: resolves the endpoint and version, reads and
 * validates the body merged with the query string, runs the handler and wraps the
 * result or the error in the envelope. Logs one line per call.
 */
export async function dispatch(request: ApiRequest, dependencies: ApiDependencies): Promise<ApiResponse> {
  const started = performance.now();
  const id = requestId();
  const trx = request.headers.get('x-clearml-trx') || id;
  const log = dependencies.logger.child({ request_id: id });

  let name = '';
  let requestedVersion = NEWEST_VERSION;
  let actualVersion: string | null = null;
  let worker: string | undefined;
  let company: string | undefined;
  let result: { status: number; subcode: number; message: string; errorData: Record<string, unknown>; data: unknown };

  try {
    const path = parsePath(request.pathname);
    name = path.name;
    requestedVersion = path.requestedVersion;
    if (!ALLOWED_METHODS.has(request.method)) {
      throw apiErrors.methodNotAllowed(request.method);
    }

    const resolved = resolveEndpoint(path);
    actualVersion = resolved.actualVersion;

    const text = await readBody(request.body);
    const db = await dependencies.database();
    const now = dependencies.now();
    // Credentials are checked before the body is parsed, so that an unauthenticated caller
    // learns nothing from validation errors.
    const caller = await dependencies.authenticator.authenticate(db, request.headers, now);
    company = caller.companyId;

    const merged = mergeQuery(parseBody(text), request.searchParams, resolved.endpoint.request);
    const fields = removeNullFields(merged, resolved.endpoint.request);
    if (typeof fields.worker === 'string') {
      worker = fields.worker;
    }
    const validated = validateRequest(resolved.endpoint.request, fields);

    const data = await resolved.endpoint.handle(
      {
        db,
        companyId: caller.companyId,
        userId: caller.userId,
        auth: {
          caller,
          issueToken: (lifetimeSeconds) => dependencies.authenticator.issueToken(db, caller, lifetimeSeconds, now),
        },
        now,
        clientIp: request.clientIp,
        requestId: id,
        log: log.child({ company }),
      },
      validated,
    );
    result = { status: 200, subcode: 0, message: 'OK', errorData: {}, data: data ?? {} };
  } catch (caught) {
    const error = toApiError(caught, log, name);
    result = { status: error.code, subcode: error.subcode, message: error.message, errorData: error.data, data: {} };
  }

  log.info(
    {
      endpoint: name,
      requested_version: requestedVersion,
      actual_version: actualVersion,
      method: request.method,
      status: result.status,
      subcode: result.subcode,
      worker,
      company,
      duration_ms: Math.round((performance.now() - started) * 10) / 10,
    },
    'request',
  );

  return {
    status: result.status,
    closeConnection: result.status === 413,
    body: {
      meta: {
        id,
        trx,
        endpoint: { name, requested_version: requestedVersion, actual_version: actualVersion },
        result_code: result.status,
        result_subcode: result.subcode,
        result_msg: result.message,
        error_stack: null,
        error_data: result.errorData,
      },
      data: result.data,
    },
  };
}

/** Maps anything a call threw to an ApiError, logging the faults that are not the caller's. */
function toApiError(caught: unknown, log: Logger, endpoint: string): ApiError {
  if (caught instanceof ApiError) {
    return caught;
  }
  if (isDatabaseUnavailable(caught)) {
    log.warn({ err: caught, endpoint }, 'database unavailable');
    return apiErrors.databaseUnavailable();
  }

  // The stack goes to the log with the request id, never to the client.
  log.error({ err: caught, endpoint }, 'internal error');
  return apiErrors.internal();
}
