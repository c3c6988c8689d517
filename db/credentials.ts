import { and, asc, count, eq, isNull } from 'drizzle-orm';

import type { Executor } from './client';
import { companies, credentials, serviceSecrets, users } from './schema';

/** A credential with the names of its company and user, as authentication and listing need them. */
export interface CredentialRow {
  accessKey: string;
  secretHash: string;
  companyId: string;
  companyName: string;
  userId: string;
  userName: string;
  role: string;
  createdAt: Date;
  revokedAt: Date | null;
}

const credentialColumns = {
  accessKey: credentials.accessKey,
  secretHash: credentials.secretHash,
  companyId: credentials.companyId,
  companyName: companies.name,
  userId: credentials.userId,
  userName: users.name,
  role: users.role,
  createdAt: credentials.createdAt,
  revokedAt: credentials.revokedAt,
};

/** Returns the credential with this access key, revoked or not, or undefined. */
export async function findCredential(db: Executor, accessKey: string): Promise<CredentialRow | undefined> {
  const rows = await db
    .select(credentialColumns)
    .from(credentials)
    .innerJoin(users, and(eq(users.companyId, credentials.companyId), eq(users.id, credentials.userId)))
    .innerJoin(companies, eq(companies.id, credentials.companyId))
    .where(eq(credentials.accessKey, accessKey));

  return rows[0];
}

/** Returns the time a credential was revoked, null while it is valid, or undefined when it does not exist. */
export async function findRevocation(db: Executor, accessKey: string): Promise<Date | null | undefined> {
  const rows = await db
    .select({ revokedAt: credentials.revokedAt })
    .from(credentials)
    .where(eq(credentials.accessKey, accessKey));

  return rows.length === 0 ? undefined : rows[0].revokedAt;
}

/** Lists every credential of every company, oldest first. */
export async function listCredentialRows(db: Executor): Promise<CredentialRow[]> {
  return db
    .select(credentialColumns)
    .from(credentials)
    .innerJoin(users, and(eq(users.companyId, credentials.companyId), eq(users.id, credentials.userId)))
    .innerJoin(companies, eq(companies.id, credentials.companyId))
    .orderBy(asc(credentials.createdAt), asc(credentials.accessKey));
}

export async function countCredentials(db: Executor): Promise<number> {
  const [row] = await db.select({ total: count() }).from(credentials);

  return Number(row.total);
}

export async function insertCredential(
  db: Executor,
  row: { accessKey: string; companyId: string; userId: string; secretHash: string },
): Promise<void> {
  await db.insert(credentials).values(row);
}

/** Replaces the stored hash of a credential's secret. */
export async function updateSecretHash(db: Executor, accessKey: string, secretHash: string): Promise<void> {
  await db.update(credentials).set({ secretHash }).where(eq(credentials.accessKey, accessKey));
}

/** Marks a credential revoked at `now`; returns false when it does not exist or was revoked before. */
export async function markRevoked(db: Executor, accessKey: string, now: Date): Promise<boolean> {
  const rows = await db
    .update(credentials)
    .set({ revokedAt: now })
    .where(and(eq(credentials.accessKey, accessKey), isNull(credentials.revokedAt)))
    .returning({ accessKey: credentials.accessKey });

  return rows.length > 0;
}

export async function findCompanyByName(db: Executor, name: string): Promise<{ id: string } | undefined> {
  const rows = await db.select({ id: companies.id }).from(companies).where(eq(companies.name, name));

  return rows[0];
}

export async function insertCompany(db: Executor, company: { id: string; name: string }): Promise<void> {
  await db.insert(companies).values(company);
}

export async function findUserByName(
  db: Executor,
  companyId: string,
  name: string,
): Promise<{ id: string; role: string } | undefined> {
  const rows = await db
    .select({ id: users.id, role: users.role })
    .from(users)
    .where(and(eq(users.companyId, companyId), eq(users.name, name)));

  return rows[0];
}

export async function insertUser(
  db: Executor,
  user: { companyId: string; id: string; name: string; role: string },
): Promise<void> {
  await db.insert(users).values(user);
}

/**
 * Returns the service secret of this name, storing `candidate` first when none exists.
 * Instances starting together agree on one value: the first insert wins.
 */
export async function ensureServiceSecret(db: Executor, name: string, candidate: string): Promise<string> {
  await db.insert(serviceSecrets).values({ name, value: candidate }).onConflictDoNothing();
  const [row] = await db.select({ value: serviceSecrets.value }).from(serviceSecrets).where(eq(serviceSecrets.name, name));

  return row.value;
}
