import postgres from 'postgres';

import { testDatabasePrefix } from './database';

/**
 * Drops the PostgreSQL databases this run created and did not drop itself (a test that
 * crashed before its cleanup). Only names with this run's prefix are touched.
 */
export async function teardown(): Promise<void> {
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    return;
  }

  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const prefix = testDatabasePrefix();
    const leftovers = await admin<{ datname: string }[]>`
      SELECT datname FROM pg_database WHERE starts_with(datname, ${prefix})`;
    for (const { datname } of leftovers) {
      await admin.unsafe(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
  } finally {
    await admin.end();
  }
}
