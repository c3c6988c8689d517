import { randomUUID } from 'node:crypto';

import { ApiError } from '@/lib/api/errors';
import { isDatabaseUnavailable } from '@/lib/api/database-errors';
import { getServiceDatabase } from '@/lib/database';
import { logger } from '@/lib/log';

import { getServiceAuthenticator } from './service';
import {
  SESSION_SECONDS,
  clearedSessionCookie,
  isPublicPath,
  isSameOrigin,
  localPath,
  sessionCaller,
  sessionCookie,
  signInUrl,
} from './session';

function trustsProxy(): boolean {
  return process.env.WORKERS_TRUST_PROXY === '1' || process.env.WORKERS_TRUST_PROXY === 'true';
}

/** Returns whether the session cookie gets the Secure attribute: on HTTPS, seen directly or through a trusted proxy. */
function isHttps(request: Request): boolean {
  return new URL(request.url).protocol === 'https:' || (trustsProxy() && request.headers.get('x-forwarded-proto') === 'https');
}

function redirect(location: string, cookie?: string): Response {
  const headers = new Headers({ location, 'cache-control': 'no-store' });
  if (cookie) {
    headers.set('set-cookie', cookie);
  }

  return new Response(null, { status: 303, headers });
}

/**
 * POST /auth/sign-in, the sign-in form: checks the access key and secret key, then sets
 * the session cookie with a token for them and redirects to the form's `next` path.
 * A wrong pair goes back to the form with an error.
 */
export async function handleSignIn(request: Request): Promise<Response> {
  const log = logger.child({ request_id: randomUUID().replaceAll('-', '') });
  if (!isSameOrigin(request.headers, trustsProxy())) {
    log.warn({ origin: request.headers.get('origin') }, 'dashboard sign-in rejected: form posted from another origin');
    return new Response('Sign-in form posted from another origin', { status: 403 });
  }

  const form = await request.formData().catch(() => new FormData());
  const field = (name: string) => {
    const value = form.get(name);
    return typeof value === 'string' ? value.trim() : '';
  };
  const next = localPath(field('next'));
  const accessKey = field('access_key');
  const secretKey = field('secret_key');
  if (!accessKey || !secretKey) {
    return redirect(signInUrl(next, 'invalid'));
  }

  try {
    const db = (await getServiceDatabase()).db;
    const authenticator = getServiceAuthenticator();
    const caller = await authenticator.authenticateBasic(db, accessKey, secretKey);
    const token = await authenticator.issueToken(db, caller, SESSION_SECONDS, new Date());
    log.info({ access_key: caller.accessKey, company: caller.companyId }, 'dashboard sign-in');

    return redirect(next, sessionCookie(token, isHttps(request)));
  } catch (error) {
    if (error instanceof ApiError && error.code === 401) {
      log.warn({ subcode: error.subcode }, 'dashboard sign-in failed: invalid credentials');
      return redirect(signInUrl(next, 'invalid'));
    }
    if (isDatabaseUnavailable(error) || (error instanceof ApiError && error.code === 503)) {
      log.warn({ err: error }, 'dashboard sign-in failed: database unavailable');
      return redirect(signInUrl(next, 'unavailable'));
    }
    log.error({ err: error }, 'dashboard sign-in failed');
    throw error;
  }
}

/** POST /auth/sign-out: deletes the session cookie and redirects to the sign-in page. */
export function handleSignOut(request: Request): Response {
  if (!isSameOrigin(request.headers, trustsProxy())) {
    logger.warn({ origin: request.headers.get('origin') }, 'dashboard sign-out rejected: form posted from another origin');
    return new Response('Sign-out form posted from another origin', { status: 403 });
  }

  return redirect(signInUrl('/'), clearedSessionCookie(isHttps(request)));
}

/**
 * Returns where to redirect a page request that has no valid session: the sign-in page,
 * which comes back to the requested path. Returns null for public paths, for requests
 * other than GET and HEAD, and when the session is valid. When the database cannot be
 * reached the page is served, and its API calls show the error.
 */
export async function signInRedirect(method: string, url: string, cookieHeader: string | undefined): Promise<string | null> {
  const { pathname, search } = new URL(url, 'http://localhost');
  if ((method !== 'GET' && method !== 'HEAD') || isPublicPath(pathname)) {
    return null;
  }

  try {
    const db = (await getServiceDatabase()).db;
    const headers = new Headers(cookieHeader ? { cookie: cookieHeader } : {});
    const caller = await sessionCaller(getServiceAuthenticator(), db, headers, new Date());

    return caller ? null : signInUrl(`${pathname}${search}`);
  } catch (error) {
    logger.warn({ err: error, path: pathname }, 'session check failed, serving the page');
    return null;
  }
}
