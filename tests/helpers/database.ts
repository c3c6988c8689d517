import postgres from 'postgres';

import type { Logger as QueryLogger } from 'drizzle-orm';

import type { DatabaseHandle } from '@/db/client';
import { openServiceDatabase } from '@/lib/database';

export type TestTarget = 'pglite' | 'postgres';

/**
 * The databases every integration suite runs against: PGlite always, and the
 * PostgreSQL server when TEST_DATABASE_URL names one (an admin connection able to
 * create databases, for example postgres://postgres@127.0.0.1:5432/postgres).
 */
export const TEST_TARGETS: TestTarget[] = process.env.TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];

/** Prefix of every database this test run creates on the PostgreSQL server. */
export function testDatabasePrefix(): string {
  return `fleet_test_${process.env.FLEET_TEST_RUN_ID ?? process.pid}_`;
}

let created = 0;

/**
 * Opens a fresh, migrated database: an in-memory PGlite, or a new database on the
 * PostgreSQL server that `close` drops again.
 */
export async function createTestDatabase(target: TestTarget, queryLogger?: QueryLogger): Promise<DatabaseHandle> {
  if (target === 'pglite') {
    return openServiceDatabase({ kind: 'pglite', queryLogger });
  }

  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    throw new Error('TEST_DATABASE_URL is not set: the postgres target needs a PostgreSQL server');
  }

  created += 1;
  const name = `${testDatabasePrefix()}${process.pid}_${created}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE "${name}"`);

  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const handle = await openServiceDatabase({ kind: 'postgres', url: url.toString(), maxConnections: 4, queryLogger });

  return {
    ...handle,
    close: async () => {
      await handle.close();
      await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    },
  };
}
