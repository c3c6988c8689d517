import { mkdirSync } from 'node:fs';
import path from 'node:path';

import type { PGlite } from '@electric-sql/pglite';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type { SQL } from 'drizzle-orm';

import * as schema from './schema';

/** A Drizzle handle over either PostgreSQL (postgres driver) or embedded PGlite. */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

/** A Database, or the transaction handle that Database.transaction passes to its callback. */
export type Executor = Pick<Database, 'select' | 'insert' | 'update' | 'delete' | 'execute'>;

export interface DatabaseHandle {
  db: Database;
  kind: 'postgres' | 'pglite';
  close(): Promise<void>;
}

export type DatabaseOptions =
  | { kind: 'postgres'; url: string; maxConnections?: number }
  | { kind: 'pglite'; dataDir?: string };

// Key of the PostgreSQL advisory lock held while migrations run.
const MIGRATION_LOCK_KEY = 7_261_000;

/** Folder of the drizzle-kit migrations; both drivers apply the same files. */
export const MIGRATIONS_FOLDER = path.join(process.cwd(), 'db', 'migrations');

/**
 * Opens a database and applies the pending migrations before returning it.
 * A PGlite `dataDir` is created with its parents; without one, PGlite is in memory.
 */
export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  if (options.kind === 'postgres') {
    const { default: postgres } = await import('postgres');
    const { drizzle } = await import('drizzle-orm/postgres-js');
    const { migrate } = await import('drizzle-orm/postgres-js/migrator');

    const client = postgres(options.url, {
      max: options.maxConnections ?? 10,
      onnotice: () => {},
      // Timestamps stay Date objects; numerics are converted in the query layer.
      connection: { application_name: 'fleet-workers' },
    });
    const db = drizzle(client, { schema }) as unknown as Database;

    // Instances starting together would apply the same migration at once, so migrations
    // run on one connection holding an advisory lock; closing it releases the lock.
    const migrator = postgres(options.url, { max: 1, onnotice: () => {} });
    try {
      await migrator`SELECT pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
      await migrate(drizzle(migrator), { migrationsFolder: MIGRATIONS_FOLDER });
    } catch (error) {
      await client.end({ timeout: 5 });
      throw error;
    } finally {
      await migrator.end({ timeout: 5 });
    }

    return { db, kind: 'postgres', close: () => client.end({ timeout: 5 }) };
  }

  const { PGlite: PGliteClass } = await import('@electric-sql/pglite');
  const { drizzle } = await import('drizzle-orm/pglite');
  const { migrate } = await import('drizzle-orm/pglite/migrator');

  if (options.dataDir) {
    mkdirSync(options.dataDir, { recursive: true });
  }
  const client: PGlite = options.dataDir ? new PGliteClass(options.dataDir) : new PGliteClass();
  const db = drizzle(client, { schema }) as unknown as Database;
  await migrate(drizzle(client), { migrationsFolder: MIGRATIONS_FOLDER });

  return { db, kind: 'pglite', close: () => client.close() };
}

/** Reads the database settings of the service from the environment. */
export function databaseOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): DatabaseOptions {
  if (env.DATABASE_URL) {
    return { kind: 'postgres', url: env.DATABASE_URL };
  }

  // The folder is known only at run time, so the bundler must not trace it.
  return { kind: 'pglite', dataDir: path.resolve(/* turbopackIgnore: true */ env.WORKERS_DATA_DIR ?? 'data') };
}

/**
 * Returns the rows of a raw SQL query. The postgres driver returns an array and PGlite
 * an object with `rows`; callers see the same plain array from both.
 */
export async function queryRows<Row>(db: Executor, query: SQL): Promise<Row[]> {
  const result = (await db.execute(query)) as unknown;
  if (Array.isArray(result)) {
    return result as Row[];
  }

  return (result as { rows: Row[] }).rows;
}
