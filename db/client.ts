import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import type { PGlite } from '@electric-sql/pglite';
import { PgDialect, type PgDatabase, type PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { sql, type Logger as QueryLogger, type SQL } from 'drizzle-orm';

import { LOCK_KEYS } from './locks';
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

export type DatabaseOptions = (
  | { kind: 'postgres'; url: string; maxConnections?: number }
  | { kind: 'pglite'; dataDir?: string }
) & {
  /** Receives every statement the handle sends (not the migrations); tests count statements with it. */
  queryLogger?: QueryLogger;
};

/** Maximum wait before reconnecting to PostgreSQL after a connection failed, in seconds. */
const MAX_RECONNECT_DELAY_SECONDS = 0.1;

/**
 * Connections of the pool that runs a statement of a transaction beside it, in the
 * transaction's snapshot (queryRowsBeside). A transaction of the main pool may wait for
 * one of these, but each of these runs one statement and needs no other connection, so
 * the two pools cannot deadlock.
 */
const BESIDE_CONNECTIONS = 4;

/** The pool of queryRowsBeside for each PostgreSQL handle; PGlite handles have none. */
const besidePools = new WeakMap<object, Database>();

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

    const poolOptions = {
      // A connection attempt that hangs fails fast (seconds), so that callers get a 503 to
      // retry instead of waiting for the driver's default of 30 s.
      connect_timeout: 3,
      // Seconds the driver waits before reconnecting a closed connection. Its default
      // grows with each failed attempt up to 20 s, and requests wait that long while the
      // server is down. Capped at 0.1 s, a request gets its 503 within a second, and the
      // first request after the server is back reconnects at once.
      backoff: (retries: number) => Math.min(MAX_RECONNECT_DELAY_SECONDS, 0.01 * 2 ** retries),
      onnotice: () => {},
    };
    const client = postgres(options.url, {
      ...poolOptions,
      max: options.maxConnections ?? 10,
      // Timestamps stay Date objects; numerics are converted in the query layer.
      connection: { application_name: 'fleet-workers' },
    });
    const db = drizzle(client, { schema, logger: options.queryLogger }) as unknown as Database;
    // Its connections serve statistics reads only, so their settings are those reads':
    // see selectStatsSeries. The driver connects on first use.
    const besideClient = postgres(options.url, {
      ...poolOptions,
      max: BESIDE_CONNECTIONS,
      connection: { application_name: 'fleet-workers', work_mem: '64MB', plan_cache_mode: 'force_custom_plan' },
    });
    besidePools.set(db, drizzle(besideClient, { schema, logger: options.queryLogger }) as unknown as Database);
    const closePools = async () => {
      await Promise.all([client.end({ timeout: 5 }), besideClient.end({ timeout: 5 })]);
    };

    // Instances starting together would apply the same migration at once, so migrations
    // run on one connection holding an advisory lock; closing it releases the lock.
    const migrator = postgres(options.url, { max: 1, onnotice: () => {} });
    try {
      await migrator`SELECT pg_advisory_lock(${LOCK_KEYS.migrations})`;
      await migrate(drizzle(migrator), { migrationsFolder: MIGRATIONS_FOLDER });
    } catch (error) {
      await closePools();
      throw error;
    } finally {
      await migrator.end({ timeout: 5 });
    }

    return { db, kind: 'postgres', close: closePools };
  }

  const { PGlite: PGliteClass } = await import('@electric-sql/pglite');
  const { drizzle } = await import('drizzle-orm/pglite');
  const { migrate } = await import('drizzle-orm/pglite/migrator');

  let releaseLock = () => {};
  if (options.dataDir) {
    mkdirSync(options.dataDir, { recursive: true });
    releaseLock = lockDataDir(options.dataDir);
  }
  try {
    const client: PGlite = options.dataDir ? new PGliteClass(options.dataDir) : new PGliteClass();
    const db = drizzle(client, { schema, logger: options.queryLogger }) as unknown as Database;
    await migrate(drizzle(client), { migrationsFolder: MIGRATIONS_FOLDER });

    return {
      db,
      kind: 'pglite',
      close: async () => {
        await client.close();
        releaseLock();
      },
    };
  } catch (error) {
    releaseLock();
    throw error;
  }
}

const LOCK_FILE = 'fleet-workers.lock';

/**
 * Claims a PGlite folder for this process: a second process on the same folder would
 * corrupt it, so opening fails while another live process holds the lock file. A lock
 * left by a process that no longer runs is taken over. Returns the release function.
 */
function lockDataDir(dataDir: string): () => void {
  const lockPath = path.join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockPath, String(process.pid), { flag: 'wx' });
      return () => rmSync(lockPath, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw error;
      }
    }

    const holder = Number(readFileSync(lockPath, 'utf8').trim());
    if (Number.isInteger(holder) && holder > 0 && isProcessRunning(holder)) {
      throw new Error(
        `The data folder ${dataDir} is in use by process ${holder}: stop that service, or set WORKERS_DATA_DIR to another folder`,
      );
    }
    rmSync(lockPath, { force: true });
  }

  throw new Error(`Could not lock the data folder ${dataDir}: remove ${lockPath} if no service uses it`);
}

function isProcessRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
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

/**
 * Returns the PostgreSQL error with SQLSTATE `code` in `error` or its chain of causes
 * (Drizzle wraps driver errors), or undefined when there is none.
 */
export function findPostgresError(error: unknown, code: string): Error | undefined {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    if ((current as { code?: unknown }).code === code) {
      return current as Error;
    }
    current = (current as { cause?: unknown }).cause;
  }

  return undefined;
}

/** A pending query of the postgres driver: a promise of its rows that can also stream them. */
interface PostgresQuery extends Promise<unknown[]> {
  forEach(onRow: (row: unknown) => void): Promise<unknown[]>;
}

interface PostgresClient {
  unsafe(query: string, params: unknown[], options: { prepare: boolean }): PostgresQuery;
}

interface PGliteClient {
  query(query: string, params: unknown[]): Promise<{ rows: unknown[] }>;
}

/**
 * Runs one statement with `$1`-style parameters on the driver under a Drizzle handle.
 * On PostgreSQL the postgres driver prepares it once per connection, so each later call is
 * one round trip. Drizzle's `execute` sends statements unprepared, and the postgres
 * driver then spends an extra round trip describing their parameters on every call.
 */
export async function queryPrepared<Row>(db: Database, query: string, params: unknown[]): Promise<Row[]> {
  const client = (db as unknown as { $client: PostgresClient | PGliteClient }).$client;
  if ('unsafe' in client) {
    return (await client.unsafe(query, params, { prepare: true })) as Row[];
  }

  return (await client.query(query, params)).rows as Row[];
}

const pipelineDialect = new PgDialect();

/**
 * Returns the rows of a raw SQL query like queryRows, but lets the postgres driver send
 * it while earlier statements of the transaction still run. Drizzle's `execute` sends
 * statements unprepared, and the driver sends nothing after such a statement until its
 * parameters are described, which waits for the statements before it. A prepared
 * statement is sent at once, so the database runs it while this process reads the
 * results before it. PGlite runs statements one at a time anyway and gets plain queries.
 * Statements are planned for their parameters only under plan_cache_mode
 * force_custom_plan, which callers should set for the transaction.
 */
export async function queryRowsPipelined<Row>(transaction: Executor, query: SQL): Promise<Row[]> {
  const prepared = prepareOnDriver(transaction, query);
  if (prepared) {
    return (await prepared) as Row[];
  }

  return queryRows<Row>(transaction, query);
}

/**
 * Runs a raw SQL query like queryRowsPipelined, but hands each row to `onRow` as it is
 * read instead of collecting them. A large result then does not stay in memory as row
 * objects until its last row arrives. Resolves once every row went through `onRow`.
 */
export async function forEachRowPipelined<Row>(transaction: Executor, query: SQL, onRow: (row: Row) => void): Promise<void> {
  const prepared = prepareOnDriver(transaction, query);
  if (prepared) {
    await prepared.forEach((row) => onRow(row as Row));
    return;
  }

  for (const row of await queryRows<Row>(transaction, query)) {
    onRow(row);
  }
}

/**
 * Returns `query` as a prepared statement of the postgres driver's handle under
 * `transaction`, or undefined on PGlite. The driver sends it once it is awaited or
 * streamed, without waiting for the statements before it.
 */
function prepareOnDriver(transaction: Executor, query: SQL): PostgresQuery | undefined {
  // Drizzle keeps the driver's transaction handle on its session, which it does not type.
  const client = (transaction as unknown as { session?: { client?: PostgresClient | PGliteClient } }).session?.client;
  if (!client || !('unsafe' in client)) {
    return undefined;
  }

  const rendered = pipelineDialect.sqlToQuery(query);
  return client.unsafe(rendered.sql, rendered.params, { prepare: true });
}

/**
 * Runs a raw SQL query on another connection than `transaction`'s, in the snapshot that
 * `transaction` exported with pg_export_snapshot(), and returns its rows. The two
 * connections then work at once, and the query reads the same data as the transaction.
 * The transaction must stay open until the returned promise settles. Without a second
 * pool (PGlite) or without a snapshot, the query runs in `transaction` as
 * queryRowsPipelined does.
 */
export async function queryRowsBeside<Row>(db: Database, transaction: Executor, snapshot: string | null, query: SQL): Promise<Row[]> {
  const beside = besidePools.get(db);
  if (!beside || snapshot === null) {
    return queryRowsPipelined<Row>(transaction, query);
  }
  if (!/^[0-9A-F]+-[0-9A-F]+(-[0-9]+)?$/i.test(snapshot)) {
    throw new Error(`Invalid snapshot identifier: ${snapshot}`);
  }

  return beside.transaction(
    async (other) => {
      // SET TRANSACTION SNAPSHOT takes a literal only, hence the check of its form above.
      await other.execute(sql.raw(`SET TRANSACTION SNAPSHOT '${snapshot}'`));
      return queryRowsPipelined<Row>(other, query);
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
}

/** Returns whether queryRowsBeside runs its queries on a connection of their own for `db`. */
export function hasBesidePool(db: Database): boolean {
  return besidePools.has(db);
}

/** Takes a transaction-level advisory lock when it is free; returns whether the transaction now holds it. */
export async function tryTransactionLock(transaction: Executor, key: number): Promise<boolean> {
  const [lock] = await queryRows<{ locked: boolean }>(transaction, sql`SELECT pg_try_advisory_xact_lock(${key}) AS locked`);

  return lock?.locked === true;
}

/** Returns a JSON column's value parsed; both drivers parse json already, but a string is parsed here. */
export function parseJson<T>(value: T | string): T {
  return typeof value === 'string' ? (JSON.parse(value) as T) : value;
}
