import { randomUUID } from 'node:crypto';

import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import { z } from 'zod';

import packageJson from '@/package.json';
import { NEWEST_VERSION } from '@/lib/api/versions';

/** Token lifetime when auth.login sends no `expiration_sec`: 30 days, as the original server. */
export const DEFAULT_TOKEN_SECONDS = 30 * 24 * 3600;
/** Maximum lifetime auth.login grants: one year, as the original server. */
export const MAX_TOKEN_SECONDS = 365 * 24 * 3600;

/** The caller of a request, as its credential or token names it. */
export interface Caller {
  companyId: string;
  companyName: string;
  userId: string;
  userName: string;
  role: string;
  /** The credential the caller authenticated with, directly or through a token issued for it. */
  accessKey: string;
}

// The claims daemons read (clearml-agent decodes the token without verifying it): `exp`
// to refresh in time, `api_version`, `server_version` and `feature_set`. `identity` has
// the original server's field names.
const claimsSchema = z.object({
  identity: z.object({
    user: z.string(),
    company: z.string(),
    role: z.string(),
    user_name: z.string(),
    company_name: z.string(),
  }),
  access_key: z.string(),
  exp: z.number(),
});

/** Signs an HS256 token for the caller, valid for `lifetimeSeconds` from `now`. */
export async function signToken(key: Uint8Array, caller: Caller, lifetimeSeconds: number, now: Date): Promise<string> {
  const issuedAt = Math.floor(now.getTime() / 1000);

  return new SignJWT({
    identity: {
      user: caller.userId,
      company: caller.companyId,
      role: caller.role,
      user_name: caller.userName,
      company_name: caller.companyName,
    },
    access_key: caller.accessKey,
    session_id: randomUUID().replaceAll('-', ''),
    api_version: NEWEST_VERSION,
    server_version: packageJson.version,
    feature_set: 'basic',
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + lifetimeSeconds)
    .sign(key);
}

/** Error of a rejected token, whose message the 401 response carries. */
export class InvalidTokenError extends Error {}

/**
 * Verifies a token's HS256 signature and expiry at `now` and returns the caller it
 * names. Whether its credential is still valid is the caller's check. Throws
 * InvalidTokenError for any token this service did not issue or that has expired.
 */
export async function verifyToken(key: Uint8Array, token: string, now: Date): Promise<Caller> {
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(token, key, { algorithms: ['HS256'], currentDate: now }));
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) {
      throw new InvalidTokenError('the token has expired: get a new one from auth.login');
    }
    throw new InvalidTokenError('the token is malformed or its signature is invalid');
  }

  const claims = claimsSchema.safeParse(payload);
  if (!claims.success) {
    throw new InvalidTokenError('the token has no identity or expiry claim');
  }
  const { identity, access_key: accessKey } = claims.data;

  return {
    companyId: identity.company,
    companyName: identity.company_name,
    userId: identity.user,
    userName: identity.user_name,
    role: identity.role,
    accessKey,
  };
}
