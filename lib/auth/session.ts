import type { Executor } from '@/db/client';
import { ApiError } from '@/lib/api/errors';

import { SESSION_COOKIE, readCookie, type Authenticator } from './authenticator';
import type { Caller } from './tokens';

/** Lifetime of a dashboard session (its token and its cookie), in seconds: 7 days. */
export const SESSION_SECONDS = 7 * 24 * 3600;

/** The sign-in page; pages redirect there without a valid session. */
export const SIGN_IN_PATH = '/sign-in';

// Paths served without a session: the sign-in page and its form targets, build assets,
// and the API (which checks its own credentials).
const PUBLIC_PATHS = new Set(['/sign-in', '/favicon.svg', '/api']);
const PUBLIC_PREFIXES = ['/auth/', '/_next/', '/api/'];

export function isPublicPath(pathname: string): boolean {
  return PUBLIC_PATHS.has(pathname) || PUBLIC_PREFIXES.some((prefix) => pathname.startsWith(prefix));
}

/**
 * Returns `value` when it is a path of this site (`/...`, not `//host` or `/\host`, which
 * browsers read as another host), else `/`, so that the sign-in page redirects nowhere else.
 */
export function localPath(value: string | null | undefined): string {
  if (!value || !value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) {
    return '/';
  }

  return value;
}

/** Returns the sign-in URL that comes back to `path` after signing in. */
export function signInUrl(path: string, error?: 'invalid' | 'unavailable'): string {
  const params = new URLSearchParams({ next: localPath(path) });
  if (error) {
    params.set('error', error);
  }

  return `${SIGN_IN_PATH}?${params}`;
}

/** Builds the Set-Cookie value of a session: httpOnly, so page scripts cannot read the token, and SameSite=Lax. */
export function sessionCookie(token: string, secure: boolean): string {
  return [`${SESSION_COOKIE}=${token}`, 'Path=/', `Max-Age=${SESSION_SECONDS}`, 'HttpOnly', 'SameSite=Lax', ...(secure ? ['Secure'] : [])].join('; ');
}

/** Builds the Set-Cookie value that deletes the session cookie. */
export function clearedSessionCookie(secure: boolean): string {
  return [`${SESSION_COOKIE}=`, 'Path=/', 'Max-Age=0', 'HttpOnly', 'SameSite=Lax', ...(secure ? ['Secure'] : [])].join('; ');
}

/**
 * Returns the caller of a page request's session cookie, or null when it has none or
 * its token is invalid, expired or revoked. Other failures (the database down) propagate.
 */
export async function sessionCaller(authenticator: Authenticator, db: Executor, headers: Headers, now: Date): Promise<Caller | null> {
  const token = readCookie(headers, SESSION_COOKIE);
  if (!token) {
    return null;
  }

  try {
    return await authenticator.authenticateToken(db, token, now);
  } catch (error) {
    if (error instanceof ApiError && error.code === 401) {
      return null;
    }
    throw error;
  }
}

/**
 * Returns whether a form POST comes from this site: its Origin header, when the browser
 * sends one, must name the host the request was sent to (or, behind a trusted proxy, the
 * X-Forwarded-Host). Guards sign-in and sign-out against forms on other sites.
 */
export function isSameOrigin(headers: Headers, trustProxy: boolean): boolean {
  const origin = headers.get('origin');
  if (!origin) {
    return true;
  }

  const hosts = [headers.get('host'), trustProxy ? headers.get('x-forwarded-host') : null];
  try {
    return hosts.includes(new URL(origin).host);
  } catch {
    return false;
  }
}
