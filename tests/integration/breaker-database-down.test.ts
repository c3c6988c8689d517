import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { callApi, type ApiCallResult } from '../helpers/api';
import { startTemporaryCluster, type TemporaryCluster } from '../helpers/cluster';
import { startTestServer, type TestServer } from '../helpers/server';

import { bodyOf, errorEnvelope, expectOk, VALID_REQUESTS } from './fixtures';

/** Maximum duration of a call while the database is down, in milliseconds. */
const MAX_OUTAGE_RESPONSE_MS = 1_000;

const UNAVAILABLE_MESSAGE = 'Service unavailable: the database cannot be reached, retry later';

/** Calls an endpoint and returns the response with its duration in milliseconds. */
async function timedCall(server: TestServer, endpoint: string, body: unknown): Promise<{ result: ApiCallResult; durationMs: number }> {
  const started = performance.now();
  const result = await callApi(server.url, endpoint, body);

  return { result, durationMs: performance.now() - started };
}

// A PostgreSQL server that stops (a restart, an upgrade, a crash) must cost daemons only
// failed requests that they retry: a prompt 503/102 from every endpoint, no crash, and
// 200s again once the server is back, without restarting the service. The machine's
// server cannot be stopped, so this suite runs its own temporary cluster.
describe.runIf(process.env.TEST_DATABASE_URL)('database server stopped and started', () => {
  let cluster: TemporaryCluster;
  let server: TestServer;

  beforeAll(async () => {
    cluster = await startTemporaryCluster();
    server = await startTestServer({ databaseUrl: cluster.url });
  });

  afterAll(async () => {
    await server?.close();
    await cluster?.remove();
  });

  test('every endpoint 503 while stopped, then 200', { timeout: 120_000 }, async () => {
    for (const [endpoint, body] of VALID_REQUESTS) {
      expectOk(await callApi(server.url, endpoint, body));
    }
    expectOk(await callApi(server.url, 'workers.register', VALID_REQUESTS[0][1]));

    await cluster.stop();

    // Twice: the first call finds the pool's connections ended by the shutdown, the
    // second opens a new connection and is refused.
    for (let round = 1; round <= 2; round++) {
      for (const [endpoint, body] of VALID_REQUESTS) {
        const { result, durationMs } = await timedCall(server, endpoint, body);

        expect(bodyOf(result), `${endpoint} in round ${round}`).toEqual(errorEnvelope(endpoint, 503, 102, UNAVAILABLE_MESSAGE, {}));
        expect(result.status, `${endpoint} in round ${round}`).toBe(503);
        expect(durationMs, `${endpoint} in round ${round}`).toBeLessThan(MAX_OUTAGE_RESPONSE_MS);
      }
    }

    await cluster.start();

    for (const [endpoint, body] of VALID_REQUESTS) {
      const { result, durationMs } = await timedCall(server, endpoint, body);

      expectOk(result);
      expect(durationMs, endpoint).toBeLessThan(MAX_OUTAGE_RESPONSE_MS);
    }
  });

  test('report during outage is not stored', { timeout: 120_000 }, async () => {
    expectOk(await callApi(server.url, 'workers.register', { worker: 'lost', timeout: 3600 }));
    await cluster.stop();

    const during = await callApi(server.url, 'workers.status_report', { worker: 'lost', timestamp: Date.now(), machine_stats: { cpu_usage: 1 } });
    expect(during.status).toBe(503);

    await cluster.start();
    const keys = await callApi(server.url, 'workers.get_metric_keys', { worker_ids: ['lost'] });
    expect(keys.status).toBe(400);
    expect(keys.meta.result_subcode).toBe(1005);
  });
});
