import type { IncomingMessage } from 'node:http';

import { getServiceAuthenticator } from '@/lib/auth/service';
import { getServiceDatabase } from '@/lib/database';
import { logger } from '@/lib/log';
import { API_CONTENT_SECURITY_POLICY } from '@/lib/security-headers';

import { dispatch, type ApiDependencies, type ApiRequest } from './dispatch';

/** Header set by the custom server: the caller's address, after the trust-proxy rule. */
export const CLIENT_IP_HEADER = 'x-workers-client-ip';

/** Header set by the custom server when it turned a GET with a body into a POST. */
export const ORIGINAL_METHOD_HEADER = 'x-workers-original-method';

/** Strips the IPv4-mapped IPv6 prefix, so that 127.0.0.1 is stored as such. */
export function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}

/**
 * Returns the caller's address: the first address of X-Forwarded-For when the server
 * trusts a proxy in front of it, else the socket's peer address.
 */
export function clientAddress(request: IncomingMessage, trustProxy: boolean): string {
  const forwarded = request.headers['x-forwarded-for'];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
  if (trustProxy && first) {
    return normalizeAddress(first);
  }

  return normalizeAddress(request.socket.remoteAddress ?? '');
}

/**
 * Prepares a Node request for the Next.js route handler. Daemons send GET with a JSON
 * body, which the Fetch API cannot carry, so such a request goes on as a POST marked
 * with its original method. The caller's address is set here, replacing any value the
 * client sent in the same header.
 */
export function prepareApiRequest(request: IncomingMessage, trustProxy: boolean): void {
  request.headers[CLIENT_IP_HEADER] = clientAddress(request, trustProxy);
  delete request.headers[ORIGINAL_METHOD_HEADER];

  // Dot segments are resolved here as the router resolves them, so `/./api/...` is the API too.
  const pathname = new URL(request.url ?? '/', 'http://localhost').pathname;
  if (pathname !== '/api' && !pathname.startsWith('/api/')) {
    return;
  }

  const method = request.method ?? 'GET';
  const hasBody =
    request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? 0) > 0;
  const getWithBody = (method === 'GET' || method === 'HEAD') && hasBody;
  // Methods the route does not export (PROPFIND, ...) reach the dispatcher, which returns
  // 405 with the envelope.
  const unrouted = !ROUTED_METHODS.has(method);
  if (getWithBody || unrouted) {
    request.headers[ORIGINAL_METHOD_HEADER] = method;
    request.method = 'POST';
  }
}

// Methods the API route exports. Next.js itself handles HEAD and OPTIONS.
const ROUTED_METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS']);

const serviceDependencies: ApiDependencies = {
  database: async () => (await getServiceDatabase()).db,
  now: () => new Date(),
  logger,
  get authenticator() {
    return getServiceAuthenticator();
  },
};

/** Converts a Fetch API request into the dispatcher's request. */
export function toApiRequest(request: Request): ApiRequest {
  const url = new URL(request.url);
  const forwarded = request.headers.get('x-forwarded-for')?.split(',')[0]?.trim() ?? '';

  return {
    method: request.headers.get(ORIGINAL_METHOD_HEADER) ?? request.method,
    pathname: url.pathname,
    searchParams: url.searchParams,
    headers: request.headers,
    body: request.body,
    clientIp: normalizeAddress(request.headers.get(CLIENT_IP_HEADER) ?? forwarded),
  };
}

/** Serves one API call from the Next.js route handler. */
export async function handleApiRoute(request: Request): Promise<Response> {
  const response = await dispatch(toApiRequest(request), serviceDependencies);

  const headers: Record<string, string> = {
    'cache-control': 'no-store',
    'content-security-policy': API_CONTENT_SECURITY_POLICY,
  };
  if (response.closeConnection) {
    headers.connection = 'close';
  }

  return Response.json(response.body, { status: response.status, headers });
}
