import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

import type { Executor } from '@/db/client';
import { ensureServiceSecret, findCredential, findRevocation } from '@/db/credentials';
import { apiErrors } from '@/lib/api/errors';

import { verifySecret } from './secrets';
import { InvalidTokenError, signToken, verifyToken, type Caller } from './tokens';

/** Name of the dashboard's session cookie, which carries a token from the sign-in page. */
export const SESSION_COOKIE = 'fleet_session';

/**
 * Milliseconds a credential seen valid is trusted before its revocation is read again.
 * This bounds how long a revoked pair, and the tokens issued for it, keep working in a
 * running service: at most this long plus one database round trip.
 */
export const REVALIDATE_MS = 2_000;

/** Credentials whose verified secret is remembered; the oldest is dropped beyond this. */
const MAX_CACHED_CREDENTIALS = 10_000;

export interface AuthenticatorOptions {
  /** HS256 key of the tokens; without it the key is read from (or stored in) the database. */
  jwtSecret?: string;
  /** Clock of the revalidation interval, in milliseconds. */
  monotonicNow?: () => number;
}

interface VerifiedCredential {
  caller: Caller;
  /** HMAC of the secret key that verified, under a key that lives only in this process. */
  secretDigest: Buffer;
}

/**
 * Authenticates API calls from their Authorization header or session cookie, and issues
 * tokens. A secret key is verified with scrypt once, and the process then remembers an
 * HMAC of it. So the status reports a daemon sends every few seconds cost an HMAC each,
 * not a scrypt run. Every credential in use is read again from the database at most every
 * REVALIDATE_MS, so a revocation takes effect within that bound. Failed attempts are
 * never remembered.
 */
export class Authenticator {
  private readonly digestKey = randomBytes(32);
  private readonly verified = new Map<string, VerifiedCredential>();
  /** When each credential was last read valid from the database (monotonicNow). */
  private readonly validatedAt = new Map<string, number>();
  private readonly pendingChecks = new Map<string, Promise<boolean>>();
  private readonly pendingVerifications = new Map<string, Promise<Caller | null>>();
  private jwtKey: Promise<Uint8Array> | undefined;
  private readonly monotonicNow: () => number;

  constructor(private readonly options: AuthenticatorOptions = {}) {
    this.monotonicNow = options.monotonicNow ?? (() => performance.now());
  }

  /**
   * Returns the caller of a request. The Authorization header wins over the session
   * cookie, as in the original server. The cookie is ignored on cross-site requests
   * (`Sec-Fetch-Site: cross-site`), so another site cannot act with it. Throws a 401
   * ApiError naming what is wrong.
   */
  async authenticate(db: Executor, headers: Headers, now: Date): Promise<Caller> {
    const authorization = headers.get('authorization')?.trim();
    if (authorization) {
      const space = authorization.indexOf(' ');
      const scheme = space < 0 ? authorization : authorization.slice(0, space);
      const value = space < 0 ? '' : authorization.slice(space + 1).trim();
      if (scheme.toLowerCase() === 'basic') {
        const { accessKey, secretKey } = decodeBasic(value);
        return this.authenticateBasic(db, accessKey, secretKey);
      }
      if (scheme.toLowerCase() === 'bearer') {
        return this.authenticateToken(db, value, now);
      }
      throw apiErrors.badAuthType(scheme);
    }

    const cookie = headers.get('sec-fetch-site') === 'cross-site' ? undefined : readCookie(headers, SESSION_COOKIE);
    if (cookie) {
      return this.authenticateToken(db, cookie, now);
    }

    throw apiErrors.noCredentials();
  }

  /** Returns the owner of a valid access key and secret key; throws 401/22 otherwise. */
  async authenticateBasic(db: Executor, accessKey: string, secretKey: string): Promise<Caller> {
    const digest = createHmac('sha256', this.digestKey).update(secretKey).digest();
    const known = this.verified.get(accessKey);
    if (known && timingSafeEqual(known.secretDigest, digest)) {
      if (await this.isStillValid(db, accessKey)) {
        return known.caller;
      }
      throw apiErrors.invalidCredentials();
    }

    // Concurrent first requests with one pair (a fleet starting) share one scrypt run.
    const pendingKey = `${accessKey}\u0000${digest.toString('base64')}`;
    let pending = this.pendingVerifications.get(pendingKey);
    if (!pending) {
      pending = this.verifyWithDatabase(db, accessKey, secretKey, digest);
      this.pendingVerifications.set(pendingKey, pending);
      void pending.finally(() => this.pendingVerifications.delete(pendingKey)).catch(() => {});
    }
    const caller = await pending;
    if (!caller) {
      throw apiErrors.invalidCredentials();
    }

    return caller;
  }

  /** Returns the caller a valid token names, while its credential is not revoked; throws 401/30 otherwise. */
  async authenticateToken(db: Executor, token: string, now: Date): Promise<Caller> {
    if (token === '') {
      throw apiErrors.invalidToken('the Bearer token is empty');
    }

    let caller: Caller;
    try {
      caller = await verifyToken(await this.signingKey(db), token, now);
    } catch (error) {
      if (error instanceof InvalidTokenError) {
        throw apiErrors.invalidToken(error.message);
      }
      throw error;
    }
    if (!(await this.isStillValid(db, caller.accessKey))) {
      throw apiErrors.invalidToken('its credential has been revoked');
    }

    return caller;
  }

  /** Issues a token for the caller, valid for `lifetimeSeconds` from `now`. */
  async issueToken(db: Executor, caller: Caller, lifetimeSeconds: number, now: Date): Promise<string> {
    return signToken(await this.signingKey(db), caller, lifetimeSeconds, now);
  }

  private async verifyWithDatabase(
    db: Executor,
    accessKey: string,
    secretKey: string,
    digest: Buffer,
  ): Promise<Caller | null> {
    const row = await findCredential(db, accessKey);
    if (!row || row.revokedAt !== null || !(await verifySecret(secretKey, row.secretHash))) {
      return null;
    }

    const caller: Caller = {
      companyId: row.companyId,
      companyName: row.companyName,
      userId: row.userId,
      userName: row.userName,
      role: row.role,
      accessKey,
    };
    if (this.verified.size >= MAX_CACHED_CREDENTIALS) {
      const oldest = this.verified.keys().next().value;
      if (oldest !== undefined) {
        this.verified.delete(oldest);
        this.validatedAt.delete(oldest);
      }
    }
    this.verified.set(accessKey, { caller, secretDigest: digest });
    this.validatedAt.set(accessKey, this.monotonicNow());

    return caller;
  }

  /**
   * Returns whether a credential is still valid, reading its revocation from the
   * database when the last read is older than REVALIDATE_MS. Concurrent checks of one
   * credential share one query.
   */
  private async isStillValid(db: Executor, accessKey: string): Promise<boolean> {
    const validatedAt = this.validatedAt.get(accessKey);
    if (validatedAt !== undefined && this.monotonicNow() - validatedAt < REVALIDATE_MS) {
      return true;
    }

    let pending = this.pendingChecks.get(accessKey);
    if (!pending) {
      pending = findRevocation(db, accessKey).then((revokedAt) => {
        if (revokedAt === null) {
          this.validatedAt.set(accessKey, this.monotonicNow());
          return true;
        }
        this.verified.delete(accessKey);
        this.validatedAt.delete(accessKey);
        return false;
      });
      this.pendingChecks.set(accessKey, pending);
      void pending.finally(() => this.pendingChecks.delete(accessKey)).catch(() => {});
    }

    return pending;
  }

  private signingKey(db: Executor): Promise<Uint8Array> {
    if (!this.jwtKey) {
      const configured = this.options.jwtSecret;
      const loading = configured
        ? Promise.resolve(configured)
        : ensureServiceSecret(db, JWT_SECRET_NAME, randomBytes(32).toString('base64url'));
      this.jwtKey = loading.then((secret) => new TextEncoder().encode(secret));
      // A failed read (database down) is not kept, so that the next call tries again.
      this.jwtKey.catch(() => {
        this.jwtKey = undefined;
      });
    }

    return this.jwtKey;
  }
}

/** Name of the generated HS256 key in the service_secrets table. */
export const JWT_SECRET_NAME = 'jwt_secret';

const BASE64_PATTERN = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes `base64(access_key:secret_key)`; throws 401/21 when it is not that. */
function decodeBasic(value: string): { accessKey: string; secretKey: string } {
  if (value === '' || !BASE64_PATTERN.test(value)) {
    throw apiErrors.malformedCredentials('the Basic value is not base64');
  }

  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) {
    throw apiErrors.malformedCredentials('expected base64 of <access_key>:<secret_key>');
  }

  return { accessKey: decoded.slice(0, colon), secretKey: decoded.slice(colon + 1) };
}

/** Returns the value of a cookie from the Cookie header, or undefined. */
export function readCookie(headers: Headers, name: string): string | undefined {
  const header = headers.get('cookie');
  if (!header) {
    return undefined;
  }

  for (const part of header.split(';')) {
    const separator = part.indexOf('=');
    if (separator > 0 && part.slice(0, separator).trim() === name) {
      return part.slice(separator + 1).trim();
    }
  }

  return undefined;
}
