import { randomUUID } from 'node:crypto';

import type { Database, Executor } from '@/db/client';
import {
  findCompanyByName,
  findUserByName,
  insertCompany,
  insertCredential,
  insertUser,
  listCredentialRows,
  markRevoked,
} from '@/db/credentials';

import { generateAccessKey, generateSecretKey, hashSecret } from './secrets';

/** Roles a user may have, as ClearML names them. No endpoint of this service checks the role. */
export const ROLES = ['admin', 'user'] as const;
export type Role = (typeof ROLES)[number];

/** A new credential, whose secret key exists only in this object: the database has its hash. */
export interface NewCredential {
  accessKey: string;
  secretKey: string;
  companyId: string;
  companyName: string;
  userId: string;
  userName: string;
}

export interface CredentialSummary {
  accessKey: string;
  companyName: string;
  userName: string;
  createdAt: Date;
  revokedAt: Date | null;
}

/** Returns a new id of 32 lowercase hex characters, as ClearML makes them. */
export function newId(): string {
  return randomUUID().replaceAll('-', '');
}

/** Checks a company or user name: 1 to 255 characters, no control characters. */
export function checkName(kind: 'company' | 'user', name: string): void {
  if (name.length === 0 || name.length > 255 || /\p{Cc}/u.test(name)) {
    throw new Error(`invalid ${kind} name ${JSON.stringify(name)}: expected 1 to 255 characters without control characters`);
  }
}

/** Returns the id of the company with this name, creating it when it does not exist. */
async function ensureCompany(db: Executor, name: string): Promise<string> {
  const existing = await findCompanyByName(db, name);
  if (existing) {
    return existing.id;
  }

  const id = newId();
  await insertCompany(db, { id, name });

  return id;
}

/** Returns the id of the company's user with this name, creating it with `role` when it does not exist. */
async function ensureUser(db: Executor, companyId: string, name: string, role: Role): Promise<string> {
  const existing = await findUserByName(db, companyId, name);
  if (existing) {
    return existing.id;
  }

  const id = newId();
  await insertUser(db, { companyId, id, name, role });

  return id;
}

/**
 * Creates a credential for a user of a company, creating the company and the user when
 * they do not exist (a new user gets `role`). Returns the pair: the secret key is shown
 * once, since only its hash is stored.
 */
export async function createCredential(
  db: Database,
  request: { companyName: string; userName: string; role?: Role },
): Promise<NewCredential> {
  checkName('company', request.companyName);
  checkName('user', request.userName);

  const accessKey = generateAccessKey();
  const secretKey = generateSecretKey();
  // Hashing takes a while, so it happens before the transaction opens.
  const secretHash = await hashSecret(secretKey);

  return db.transaction(async (transaction) => {
    const companyId = await ensureCompany(transaction, request.companyName);
    const userId = await ensureUser(transaction, companyId, request.userName, request.role ?? 'user');
    await insertCredential(transaction, { accessKey, companyId, userId, secretHash });

    return { accessKey, secretKey, companyId, companyName: request.companyName, userId, userName: request.userName };
  });
}

/** Lists the credentials with their company, user and times; secrets are never listed. */
export async function listCredentials(db: Executor): Promise<CredentialSummary[]> {
  const rows = await listCredentialRows(db);

  return rows.map(({ accessKey, companyName, userName, createdAt, revokedAt }) => ({
    accessKey,
    companyName,
    userName,
    createdAt,
    revokedAt,
  }));
}

/**
 * Revokes a credential: neither the pair nor the tokens issued for it are accepted any
 * more (running services notice within the revalidation interval of lib/auth/authenticator.ts).
 * Returns false when no valid credential has this access key.
 */
export function revokeCredential(db: Executor, accessKey: string, now = new Date()): Promise<boolean> {
  return markRevoked(db, accessKey, now);
}
