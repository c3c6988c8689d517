import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { openDatabase, queryRows, type DatabaseHandle } from '@/db/client';
import { isDatabaseUnavailable } from '@/lib/api/database-errors';

import { createTestDatabase } from '../helpers/database';

/** Maximum duration of the first query after a terminated session, in milliseconds. */
const MAX_RECOVERY_MS = 1_000;

// The postgres driver reuses one connection object for the sessions it opens one after the
// other, and no state of a terminated session may reach the next one. These tests run on a
// handle of one connection, so that the query after the termination gets the same object.
// patches/postgres+3.4.10.patch clears that state when a socket closes.
describe.runIf(process.env.TEST_DATABASE_URL)('terminated database session on postgres', () => {
  let database: DatabaseHandle;
  let handle: DatabaseHandle;
  let admin: postgres.Sql;
  let databaseName: string;

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    const [row] = await queryRows<{ name: string }>(database.db, sql`SELECT current_database() AS name`);
    databaseName = row.name;

    const url = new URL(process.env.TEST_DATABASE_URL ?? '');
    url.pathname = `/${databaseName}`;
    handle = await openDatabase({ kind: 'postgres', url: url.toString(), maxConnections: 1 });
    admin = postgres(process.env.TEST_DATABASE_URL ?? '', { max: 1, onnotice: () => {} });
  });

  afterAll(async () => {
    await admin?.end();
    await handle?.close();
    await database?.close();
  });

  /** Waits until a session of the test database runs pg_sleep, then terminates it. */
  async function terminateSleepingSession(): Promise<void> {
    for (let attempt = 0; attempt < 250; attempt++) {
      const terminated = await admin`
        SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = ${databaseName} AND pid <> pg_backend_pid() AND state = 'active' AND query LIKE '%pg_sleep%'`;
      if (terminated.length > 0) {
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    throw new Error(`No session of ${databaseName} ran pg_sleep after 250 checks 20 ms apart: check that the query started`);
  }

  /** Runs SELECT 1 on the handle and returns how long it took, in milliseconds. */
  async function timeNextQuery(): Promise<number> {
    const started = performance.now();
    const rows = await queryRows<{ one: number }>(handle.db, sql`SELECT 1 AS one`);
    expect(rows).toEqual([{ one: 1 }]);

    return performance.now() - started;
  }

  /**
   * Terminates the session that runs `running`, then checks that `running` failed as
   * "database unavailable" and that the next query succeeds at once.
   */
  async function expectRecoveryAfterTermination(running: Promise<unknown>): Promise<void> {
    const outcome = running.then(
      () => undefined,
      (error: unknown) => error,
    );
    await terminateSleepingSession();

    const error = await outcome;
    expect(error).toBeInstanceOf(Error);
    expect(isDatabaseUnavailable(error)).toBe(true);
    expect(await timeNextQuery()).toBeLessThan(MAX_RECOVERY_MS);
  }

  // Unpatched, the next session fails its first query with the 57P01 error that the
  // terminated session received.
  test('query after terminated query succeeds', async () => {
    await expectRecoveryAfterTermination(queryRows(handle.db, sql`SELECT pg_sleep(30)`));
  });

  // Unpatched, the driver writes the transaction's ROLLBACK to the connection while it
  // reconnects for the next query, and that write fails the next query with CONNECTION_CLOSED.
  test('query after terminated transaction succeeds', async () => {
    await expectRecoveryAfterTermination(
      handle.db.transaction(async (transaction) => {
        await transaction.execute(sql`SELECT pg_sleep(30)`);
      }),
    );
  });
});
