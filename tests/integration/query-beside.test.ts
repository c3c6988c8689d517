import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { hasBesidePool, queryRows, queryRowsBeside, type DatabaseHandle } from '@/db/client';

import { createTestDatabase, TEST_TARGETS } from '../helpers/database';

describe.each(TEST_TARGETS)('queryRowsBeside on %s', (target) => {
  let handle: DatabaseHandle;

  beforeAll(async () => {
    handle = await createTestDatabase(target);
    await handle.db.execute(sql`CREATE TABLE beside_probe (id int PRIMARY KEY)`);
    await handle.db.execute(sql`INSERT INTO beside_probe VALUES (1)`);
  });

  afterAll(async () => {
    await handle?.close();
  });

  test('has a second pool on postgres only', () => {
    expect(hasBesidePool(handle.db)).toBe(target === 'postgres');
  });

  test('reads in the snapshot of the transaction', async () => {
    if (target !== 'postgres') {
      return;
    }

    const seen = await handle.db.transaction(
      async (transaction) => {
        const [exported] = await queryRows<{ snapshot: string }>(transaction, sql`SELECT pg_export_snapshot() AS snapshot`);
        // Committed after the snapshot was taken, so the snapshot must not show it.
        await handle.db.execute(sql`INSERT INTO beside_probe VALUES (2)`);

        const rows = await queryRowsBeside<{ id: number; pid: number }>(
          handle.db,
          transaction,
          exported.snapshot,
          sql`SELECT id, pg_backend_pid() AS pid FROM beside_probe ORDER BY id`,
        );
        const [own] = await queryRows<{ pid: number }>(transaction, sql`SELECT pg_backend_pid() AS pid`);
        return { ids: rows.map((row) => row.id), pids: rows.map((row) => row.pid), ownPid: own.pid };
      },
      { isolationLevel: 'repeatable read', accessMode: 'read only' },
    );

    expect(seen.ids).toEqual([1]);
    expect(seen.pids).not.toContain(seen.ownPid);
  });

  test('runs in the transaction without a snapshot', async () => {
    const ids = await handle.db.transaction(async (transaction) => {
      await transaction.execute(sql`INSERT INTO beside_probe VALUES (3)`);
      const rows = await queryRowsBeside<{ id: number }>(handle.db, transaction, null, sql`SELECT id FROM beside_probe WHERE id = 3`);
      await transaction.execute(sql`DELETE FROM beside_probe WHERE id = 3`);
      return rows.map((row) => row.id);
    });

    expect(ids).toEqual([3]);
  });

  test('rejects a malformed snapshot identifier', async () => {
    if (target !== 'postgres') {
      return;
    }

    await expect(
      handle.db.transaction((transaction) => queryRowsBeside(handle.db, transaction, "1-1'; DROP TABLE beside_probe; --", sql`SELECT 1`)),
    ).rejects.toThrow('Invalid snapshot identifier');
  });
});
