import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { queryRows } from '@/db/client';

import { callApi } from '../helpers/api';
import { startTestServer, type TestServer } from '../helpers/server';

import { expectOk } from './fixtures';

/** Maximum time in milliseconds a daemon should wait for a response while database connections drop. */
const MAX_RESPONSE_MS = 5_000;

/** Reporting loops running at once, each for its own worker, as a small fleet does. */
const CONCURRENT_WORKERS = 8;

interface CallOutcome {
  status: number | 'no response';
  durationMs: number;
}

/** Calls an endpoint and records the status and duration. A call with no response after `timeoutMs` counts as 'no response'. */
async function timedCall(server: TestServer, endpoint: string, body: unknown, timeoutMs: number): Promise<CallOutcome> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const result = await Promise.race([
      callApi(server.url, endpoint, body),
      new Promise<'no response'>((resolve) => {
        timer = setTimeout(() => resolve('no response'), timeoutMs);
      }),
    ]);

    return { status: result === 'no response' ? result : result.status, durationMs: Date.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

// A PostgreSQL restart, a failover or an idle-connection reaper closes the service's
// connections while queries run on them. Daemons may see failed requests (503, which
// they retry), but each request must be answered promptly and the pool must recover.
describe.runIf(process.env.TEST_DATABASE_URL)('dropped database connections on postgres', () => {
  let server: TestServer;
  let admin: postgres.Sql;
  let databaseName: string;

  beforeAll(async () => {
    server = await startTestServer({ target: 'postgres' });
    admin = postgres(process.env.TEST_DATABASE_URL ?? '', { max: 1, onnotice: () => {} });
    const [row] = await queryRows<{ name: string }>(server.database.db, sql`SELECT current_database() AS name`);
    databaseName = row.name;
  });

  afterAll(async () => {
    await admin?.end();
    await server?.close();
  });

  /** Terminates every session of the test database except the admin connection's. */
  async function terminateServiceConnections(): Promise<void> {
    await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${databaseName} AND pid <> pg_backend_pid()`;
  }

  // Unpatched, postgres 3.4.10 throws an uncaught TypeError here (connection.js, reading
  // 'write' of null) when a transaction's rollback is written after the connection closed,
  // and that request never gets a response. patches/postgres+3.4.10.patch rejects such a
  // write with CONNECTION_CLOSED instead.
  test('dropped connections under load respond promptly', { timeout: 120_000 }, async () => {
    for (let index = 0; index < CONCURRENT_WORKERS; index++) {
      expectOk(await callApi(server.url, 'workers.register', { worker: `w${index}`, timeout: 3600 }));
    }

    const outcomes: CallOutcome[] = [];
    let running = true;
    const reportLoop = async (index: number) => {
      for (let sequence = 0; running; sequence++) {
        const body = { worker: `w${index}`, timestamp: Date.now() - 60_000 + sequence, machine_stats: { cpu_usage: sequence } };
        outcomes.push(await timedCall(server, 'workers.status_report', body, 2 * MAX_RESPONSE_MS));
      }
    };
    const loops = Array.from({ length: CONCURRENT_WORKERS }, (_, index) => reportLoop(index));

    // Three drops 700 ms apart while reports are in flight, then 3 s more of reports.
    for (let drop = 0; drop < 3; drop++) {
      await new Promise((resolve) => setTimeout(resolve, 700));
      await terminateServiceConnections();
    }
    await new Promise((resolve) => setTimeout(resolve, 3000));
    running = false;
    await Promise.all(loops);

    const slow = outcomes.filter((outcome) => outcome.status === 'no response' || outcome.durationMs > MAX_RESPONSE_MS);
    const statuses = [...new Set(outcomes.map((outcome) => outcome.status))].sort();
    expect(slow, `${slow.length} of ${outcomes.length} reports took more than ${MAX_RESPONSE_MS} ms`).toEqual([]);
    expect(statuses.every((status) => status === 200 || status === 503), `statuses seen: ${statuses.join(', ')}`).toBe(true);

    // Once the drops are over, the service responds at once again.
    const after = await timedCall(server, 'workers.get_count', {}, 2 * MAX_RESPONSE_MS);
    expect(after.status).toBe(200);
    expect(after.durationMs).toBeLessThan(MAX_RESPONSE_MS);
  });
});
