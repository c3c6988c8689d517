import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { REPOSITORY_ROOT, startScript, type ScriptProcess } from '../../e2e/helpers/processes';
import { callApi, sendRawRequest, testAuthorization } from '../helpers/api';

/** The first start builds the dashboard, which takes minutes on two cores. */
const SERVICE_START_TIMEOUT_MS = 15 * 60_000;

/** Finds a port in 3600-3699 that 127.0.0.1 can listen on. */
async function findFreePort(): Promise<number> {
  for (let port = 3600; port <= 3699; port++) {
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (free) {
      return port;
    }
  }

  throw new Error('no free port in 3600-3699');
}

/**
 * Sends one POST with `target` as the request line's path, byte for byte, because
 * node:http and fetch normalize `/./` and `/../` before sending. Resolves with the status code.
 */
function sendVerbatimPost(port: number, target: string, body: string, headers: Record<string, string>): Promise<number> {
  const head = [
    `POST ${target} HTTP/1.1`,
    'Host: 127.0.0.1',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    `Authorization: ${testAuthorization()}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ].join('\r\n');

  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(`${head}\r\n\r\n${body}`));
    let response = '';
    socket.on('data', (chunk: Buffer) => (response += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0)));
  });
}

/** Returns the ips get_all lists for `worker`, with last_seen disabled. */
async function ipsOf(url: string, worker: string): Promise<string[]> {
  const result = await callApi(url, 'workers.get_all', { last_seen: 0, worker_pattern: worker });

  return (result.data.workers as { id: string; ip?: string }[])
    .filter((entry) => entry.id === worker)
    .map((entry) => entry.ip ?? '');
}

// The custom server in server.ts, not the test server, decides which requests are API
// calls, so these cases need the real service: Next.js with its router and a PGlite folder.
describe('service started with npm start', () => {
  let service: ScriptProcess | undefined;
  let url = '';
  let port = 0;
  let dataDir = '';

  beforeAll(async () => {
    port = await findFreePort();
    url = `http://127.0.0.1:${port}`;
    dataDir = mkdtempSync(path.join(tmpdir(), 'breaker-service-'));
    service = startScript('breaker-service', 'scripts/start.ts', [], {
      env: { PORT: String(port), HOST: '127.0.0.1', WORKERS_DATA_DIR: dataDir, DATABASE_URL: undefined, WORKERS_TRUST_PROXY: undefined },
      logDir: path.join(REPOSITORY_ROOT, 'test-results'),
    });

    const deadline = Date.now() + SERVICE_START_TIMEOUT_MS;
    for (;;) {
      if (service.hasExited()) {
        throw new Error(`the service exited before it listened:\n${service.logTail()}`);
      }
      const ready = await fetch(`${url}/api/workers.get_count`, {
        method: 'POST',
        body: '{}',
        headers: { authorization: testAuthorization() },
      }).then(
        (response) => response.status === 200,
        () => false,
      );
      if (ready) {
        break;
      }
      if (Date.now() > deadline) {
        throw new Error(`the service did not respond within ${SERVICE_START_TIMEOUT_MS / 1000} s:\n${service.logTail()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }, SERVICE_START_TIMEOUT_MS + 60_000);

  afterAll(async () => {
    await service?.stop();
    if (dataDir) {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  // Without WORKERS_TRUST_PROXY the stored ip is the socket's address. server.ts checks
  // the raw request path for a `/api/` prefix before it sets the address header, while
  // Next.js routes `/./api/...` to the API after normalizing the path: the caller's own
  // x-workers-client-ip or X-Forwarded-For header then becomes the worker's ip.
  test.each([
    ['/./api/workers.register', { 'x-workers-client-ip': '203.0.113.9' }, 'dot-segment-header'],
    ['/_next/../api/workers.register', { 'x-workers-client-ip': '203.0.113.9' }, 'parent-segment-header'],
    ['/./api/workers.register', { 'x-forwarded-for': '198.51.100.7' }, 'dot-segment-forwarded'],
  ])('register by %s with %j stores the socket address', async (requestPath, headers, worker) => {
    await sendVerbatimPost(port, requestPath, JSON.stringify({ worker, timeout: 3600 }), headers);

    const ips = await ipsOf(url, worker);

    expect(ips.filter((ip) => ip !== '127.0.0.1')).toEqual([]);
  });

  // The API returns a 405 envelope for methods other than GET, POST and PUT, as it does for DELETE.
  test('PROPFIND is 405 with the envelope', async () => {
    const response = await sendRawRequest(url, { method: 'PROPFIND' as 'POST', path: '/api/workers.get_count', body: '{}' });

    expect(response.status).toBe(405);
    expect(response.text).toMatch(/^\{"meta":/);
  });
});
