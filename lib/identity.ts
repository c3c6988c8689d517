import type { Executor } from '@/db/client';
import { companies, users } from '@/db/schema';

/**
 * The company `default` and its user `admin`, created at first start. The bootstrap
 * credential belongs to them. Ids are 32 lowercase hex characters, as ClearML makes them.
 * Requests act for the company and user of their credential, never for these constants.
 */
export const DEFAULT_COMPANY = { id: 'd1bd92a3b039400cbafc60a7a5b1e52b', name: 'default' } as const;
export const DEFAULT_USER = { id: '3c4d0d0e4a4b4b0c9f5e3a1b2c3d4e5f', name: 'admin', role: 'admin' } as const;

/** Creates the default company and user when they do not exist yet. */
export async function ensureDefaultIdentity(db: Executor): Promise<void> {
  await db.insert(companies).values({ id: DEFAULT_COMPANY.id, name: DEFAULT_COMPANY.name }).onConflictDoNothing();
  await db
    .insert(users)
    .values({ companyId: DEFAULT_COMPANY.id, id: DEFAULT_USER.id, name: DEFAULT_USER.name, role: DEFAULT_USER.role })
    .onConflictDoNothing();
}
