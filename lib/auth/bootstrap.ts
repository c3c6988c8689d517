import { randomBytes } from 'node:crypto';

import { sql } from 'drizzle-orm';

import type { Database } from '@/db/client';
import { countCredentials, ensureServiceSecret, findCredential, insertCredential, updateSecretHash } from '@/db/credentials';
import { LOCK_KEYS } from '@/db/locks';
import { DEFAULT_COMPANY, DEFAULT_USER, ensureDefaultIdentity } from '@/lib/identity';
import type { Logger } from '@/lib/log';

import { JWT_SECRET_NAME } from './authenticator';
import { generateAccessKey, generateSecretKey, hashSecret, verifySecret } from './secrets';

/** Minimum length of WORKERS_JWT_SECRET: the SHA-256 output size, the shortest HS256 key RFC 7518 (section 3.2) allows. */
const MIN_JWT_SECRET_LENGTH = 32;

export interface AuthSettings {
  /** WORKERS_ACCESS_KEY and WORKERS_SECRET_KEY: the bootstrap pair, when both are set. */
  bootstrapPair?: { accessKey: string; secretKey: string };
  /** WORKERS_JWT_SECRET: the HS256 key of the tokens; unset means one generated and stored. */
  jwtSecret?: string;
}

/** Reads the credential settings from the environment; throws an Error naming an invalid variable. */
export function authSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): AuthSettings {
  const accessKey = env.WORKERS_ACCESS_KEY || undefined;
  const secretKey = env.WORKERS_SECRET_KEY || undefined;
  if ((accessKey === undefined) !== (secretKey === undefined)) {
    throw new Error('WORKERS_ACCESS_KEY and WORKERS_SECRET_KEY must be set together, or neither');
  }
  if (accessKey !== undefined && (accessKey.length > 255 || /[:\p{Cc}\s]/u.test(accessKey))) {
    throw new Error(
      'invalid WORKERS_ACCESS_KEY: expected at most 255 characters without ":", spaces or control characters',
    );
  }

  const jwtSecret = env.WORKERS_JWT_SECRET || undefined;
  if (jwtSecret !== undefined && jwtSecret.length < MIN_JWT_SECRET_LENGTH) {
    throw new Error(`invalid WORKERS_JWT_SECRET: expected at least ${MIN_JWT_SECRET_LENGTH} characters`);
  }

  return {
    bootstrapPair: accessKey !== undefined && secretKey !== undefined ? { accessKey, secretKey } : undefined,
    jwtSecret,
  };
}

/**
 * Prepares authentication at start: the company `default` and its user `admin`, the
 * stored token key (unless WORKERS_JWT_SECRET is set), and the bootstrap credential.
 *
 * - With a bootstrap pair configured, that pair belongs to default/admin. Its stored
 *   hash is replaced when the configured secret changed. A revoked pair stays revoked.
 * - Without one, and with no credential at all, a new pair is created for default/admin
 *   and logged once, with how to use it. This is the only log line that contains a secret.
 */
export async function prepareAuthentication(db: Database, settings: AuthSettings, log: Logger): Promise<void> {
  const pair = settings.bootstrapPair;
  // Hashing is slow, so it is done before the lock is taken.
  const pairHash = pair ? await hashSecret(pair.secretKey) : undefined;

  await db.transaction(async (transaction) => {
    await transaction.execute(sql`SELECT pg_advisory_xact_lock(${LOCK_KEYS.bootstrap})`);
    await ensureDefaultIdentity(transaction);
    if (!settings.jwtSecret) {
      await ensureServiceSecret(transaction, JWT_SECRET_NAME, randomBytes(32).toString('base64url'));
    }

    if (pair && pairHash) {
      const existing = await findCredential(transaction, pair.accessKey);
      if (!existing) {
        await insertCredential(transaction, {
          accessKey: pair.accessKey,
          companyId: DEFAULT_COMPANY.id,
          userId: DEFAULT_USER.id,
          secretHash: pairHash,
        });
        log.info({ access_key: pair.accessKey, company: DEFAULT_COMPANY.name, user: DEFAULT_USER.name }, 'bootstrap credential created from WORKERS_ACCESS_KEY');
      } else if (existing.revokedAt !== null) {
        log.warn({ access_key: pair.accessKey }, 'the WORKERS_ACCESS_KEY credential is revoked and stays revoked');
      } else if (!(await verifySecret(pair.secretKey, existing.secretHash))) {
        await updateSecretHash(transaction, pair.accessKey, pairHash);
        log.warn({ access_key: pair.accessKey }, 'WORKERS_SECRET_KEY changed: the stored secret of the bootstrap credential was replaced');
      }
      return;
    }

    if ((await countCredentials(transaction)) > 0) {
      return;
    }

    const accessKey = generateAccessKey();
    const secretKey = generateSecretKey();
    await insertCredential(transaction, {
      accessKey,
      companyId: DEFAULT_COMPANY.id,
      userId: DEFAULT_USER.id,
      secretHash: await hashSecret(secretKey),
    });
    // The one exception to "no secret in the log": the first pair has nowhere else to go.
    log.warn(
      {
        access_key: accessKey,
        secret_key: secretKey,
        company: DEFAULT_COMPANY.name,
        user: DEFAULT_USER.name,
        usage: `sign in to the dashboard with this pair, or set WORKERS_ACCESS_KEY=${accessKey} WORKERS_SECRET_KEY=<secret_key> for the daemon; it is shown only now`,
      },
      'first start: created a credential for company default, user admin',
    );
  });
}
