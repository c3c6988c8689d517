import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { sql } from 'drizzle-orm';
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';

import { basicAuthorization } from '@/agent/api-client';
import { openDatabase, queryRows } from '@/db/client';
import { ApiError } from '@/lib/api/errors';
import { Authenticator, REVALIDATE_MS } from '@/lib/auth/authenticator';
import { prepareAuthentication } from '@/lib/auth/bootstrap';
import { createCredential, listCredentials, revokeCredential } from '@/lib/auth/credentials';
import { verifySecret } from '@/lib/auth/secrets';
import { DEFAULT_COMPANY, DEFAULT_USER } from '@/lib/identity';

import { captureLogger } from '../agent/helpers';
import { runScript } from '../agent/process';
import { callApi, sendApiRequest, testAuthorization, TestClock } from '../helpers/api';
import { createTestDatabase, TEST_TARGETS } from '../helpers/database';
import { startTestServer, type TestServer } from '../helpers/server';

import { bodyOf, errorEnvelope } from './fixtures';

const START = '2026-03-01T00:00:00.000Z';
const THIRTY_DAYS = 30 * 24 * 3600;

/** Decodes the header and claims of a JWT without verifying it, as daemons read it. */
function decodeJwt(token: string): { header: Record<string, unknown>; claims: Record<string, any> } {
  const [header, claims] = token.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')));

  return { header, claims };
}

function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

describe.each(TEST_TARGETS)('authentication on %s', (target) => {
  const clock = new TestClock(START);
  /** Milliseconds of the authenticator's revalidation clock, moved by the tests. */
  let monotonic = 0;
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ target, now: clock.now, monotonicNow: () => monotonic });
  });

  afterAll(async () => {
    await server?.close();
  });

  afterEach(() => {
    clock.set(START);
  });

  async function login(headers: Record<string, string> = {}, query = ''): Promise<string> {
    const result = await sendApiRequest(server.url, {
      method: 'GET',
      path: `/api/auth.login${query}`,
      headers,
    });
    expect(result.meta.result_msg).toBe('OK');

    return result.data.token as string;
  }

  test.each([
    'auth.login',
    'workers.get_all',
    'workers.get_count',
    'workers.register',
    'workers.unregister',
    'workers.status_report',
    'workers.get_metric_keys',
    'workers.get_stats',
    'workers.get_activity_report',
  ])('%s without credentials is 401/20', async (endpoint) => {
    const result = await callApi(server.url, endpoint, { worker: 'w' }, { authenticated: false });

    expect(result.status).toBe(401);
    expect(bodyOf(result)).toEqual(
      errorEnvelope(
        endpoint,
        401,
        20,
        'Unauthorized (missing credentials): send HTTP Basic with an access key and secret key, or a Bearer token from auth.login',
        {},
        { requested: '2.30' },
      ),
    );
  });

  test('missing credentials come before validation', async () => {
    const result = await callApi(server.url, 'workers.register', { timeout: 'soon' }, { authenticated: false });

    expect([result.status, result.meta.result_subcode]).toEqual([401, 20]);
  });

  test.each([
    ['Basic !!!', 21, 'Unauthorized (malformed credentials): the Basic value is not base64'],
    [`Basic ${Buffer.from('no-colon').toString('base64')}`, 21, 'Unauthorized (malformed credentials): expected base64 of <access_key>:<secret_key>'],
    ['Basic', 21, 'Unauthorized (malformed credentials): the Basic value is not base64'],
    [basicAuthorization({ accessKey: 'UNKNOWNKEY', secretKey: 'x' }), 22, 'Unauthorized (invalid credentials): unknown or revoked access key, or wrong secret key'],
    ['Digest abc', 10, 'Unauthorized (bad authentication header type): "Digest", use Basic or Bearer'],
    ['Bearer not-a-jwt', 30, 'Invalid token: the token is malformed or its signature is invalid'],
    ['Bearer', 30, 'Invalid token: the Bearer token is empty'],
  ])('authorization %j is 401/%i', async (authorization, subcode, message) => {
    const result = await callApi(server.url, 'workers.get_all', {}, { headers: { authorization } });

    expect(result.status).toBe(401);
    expect(result.meta.result_subcode).toBe(subcode);
    expect(result.meta.result_msg).toBe(message);
    expect(result.meta.error_data).toEqual(subcode === 10 ? { scheme: 'Digest' } : {});
  });

  test('wrong secret key is 401/22', async () => {
    const accessKey = process.env.WORKERS_ACCESS_KEY ?? '';
    const authorization = basicAuthorization({ accessKey, secretKey: 'wrong secret' });

    const result = await callApi(server.url, 'workers.get_count', {}, { headers: { authorization } });

    expect([result.status, result.meta.result_subcode]).toEqual([401, 22]);
  });

  test('Basic works on get_count', async () => {
    const result = await callApi(server.url, 'workers.get_count', {}, { headers: { authorization: testAuthorization() } });

    expect([result.status, result.data]).toEqual([200, { count: 0 }]);
  });

  test('auth.login returns the token shape', async () => {
    const result = await sendApiRequest(server.url, { method: 'GET', path: '/api/auth.login' });

    expect(result.status).toBe(200);
    expect(result.meta.endpoint).toEqual({ name: 'auth.login', requested_version: '2.30', actual_version: '2.1' });
    expect(Object.keys(result.data)).toEqual(['token']);
    const { header, claims } = decodeJwt(result.data.token);
    expect(header).toEqual({ alg: 'HS256', typ: 'JWT' });
    const issuedAt = Date.parse(START) / 1000;
    expect(claims).toEqual({
      identity: {
        user: DEFAULT_USER.id,
        company: DEFAULT_COMPANY.id,
        role: 'admin',
        user_name: 'admin',
        company_name: 'default',
      },
      access_key: process.env.WORKERS_ACCESS_KEY,
      session_id: expect.stringMatching(/^[0-9a-f]{32}$/),
      api_version: '2.30',
      server_version: '0.1.0',
      feature_set: 'basic',
      iat: issuedAt,
      exp: issuedAt + THIRTY_DAYS,
    });
  });

  test('auth.login takes expiration_sec', async () => {
    const token = await login({}, '?expiration_sec=60');

    const { claims } = decodeJwt(token);
    expect(claims.exp - claims.iat).toBe(60);
  });

  test('auth.login on v2.1 path', async () => {
    const result = await sendApiRequest(server.url, { method: 'GET', path: '/api/v2.1/auth.login' });

    expect(result.meta.endpoint).toEqual({ name: 'auth.login', requested_version: '2.1', actual_version: '2.1' });
    expect(result.status).toBe(200);
  });

  test.each([
    ['0', 'Validation error: invalid value 0 for field \'expiration_sec\': must be a positive number of seconds'],
    ['31536001', 'Validation error: invalid value 31536001 for field \'expiration_sec\': must be at most 31536000 seconds (one year)'],
  ])('auth.login rejects expiration_sec %s', async (value, message) => {
    const result = await sendApiRequest(server.url, { method: 'GET', path: `/api/auth.login?expiration_sec=${value}` });

    expect([result.status, result.meta.result_subcode]).toEqual([400, 12]);
    expect(result.meta.result_msg).toBe(message);
  });

  test('Bearer token works on workers calls', async () => {
    const token = await login();

    const result = await callApi(server.url, 'workers.get_count', {}, { headers: bearer(token) });

    expect([result.status, result.data]).toEqual([200, { count: 0 }]);
  });

  test('auth.login with a Bearer token', async () => {
    const token = await login();

    const renewed = await login(bearer(token));

    expect(decodeJwt(renewed).claims.identity).toEqual(decodeJwt(token).claims.identity);
  });

  test('expired token is 401/30', async () => {
    const token = await login({}, '?expiration_sec=60');
    clock.advance(61);

    const result = await callApi(server.url, 'workers.get_all', {}, { headers: bearer(token) });

    expect(result.status).toBe(401);
    expect(result.meta.result_subcode).toBe(30);
    expect(result.meta.result_msg).toBe('Invalid token: the token has expired: get a new one from auth.login');
  });

  test('token of another key is 401/30', async () => {
    const claims = decodeJwt(await login()).claims;
    const forged = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode('x'.repeat(32)));

    const result = await callApi(server.url, 'workers.get_all', {}, { headers: bearer(forged) });

    expect([result.status, result.meta.result_subcode]).toEqual([401, 30]);
  });

  test('unsigned token is 401/30', async () => {
    const claims = decodeJwt(await login()).claims;
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;

    const result = await callApi(server.url, 'workers.get_all', {}, { headers: bearer(unsigned) });

    expect([result.status, result.meta.result_subcode]).toEqual([401, 30]);
  });

  test('session cookie authenticates', async () => {
    const token = await login();

    const result = await callApi(server.url, 'workers.get_count', {}, { authenticated: false, headers: { cookie: `other=1; fleet_session=${token}` } });

    expect([result.status, result.data]).toEqual([200, { count: 0 }]);
  });

  test('session cookie ignored cross-site', async () => {
    const token = await login();

    const result = await callApi(server.url, 'workers.get_count', {}, {
      authenticated: false,
      headers: { cookie: `fleet_session=${token}`, 'sec-fetch-site': 'cross-site' },
    });

    expect([result.status, result.meta.result_subcode]).toEqual([401, 20]);
  });

  test('Authorization wins over cookie', async () => {
    const token = await login();
    const authorization = basicAuthorization({ accessKey: 'UNKNOWNKEY', secretKey: 'x' });

    const result = await callApi(server.url, 'workers.get_count', {}, { headers: { authorization, cookie: `fleet_session=${token}` } });

    expect([result.status, result.meta.result_subcode]).toEqual([401, 22]);
  });

  test('revoked key stops Basic and tokens', async () => {
    const created = await createCredential(server.database.db, { companyName: 'revoking', userName: 'carol' });
    const authorization = basicAuthorization(created);
    const token = await login({ authorization });
    expect((await callApi(server.url, 'workers.get_count', {}, { headers: { authorization } })).status).toBe(200);

    expect(await revokeCredential(server.database.db, created.accessKey)).toBe(true);
    monotonic += REVALIDATE_MS;

    const basic = await callApi(server.url, 'workers.get_count', {}, { headers: { authorization } });
    expect([basic.status, basic.meta.result_subcode]).toEqual([401, 22]);
    const withToken = await callApi(server.url, 'workers.get_count', {}, { headers: bearer(token) });
    expect([withToken.status, withToken.meta.result_subcode]).toEqual([401, 30]);
    expect(withToken.meta.result_msg).toBe('Invalid token: its credential has been revoked');
    const relogin = await sendApiRequest(server.url, { method: 'GET', path: '/api/auth.login', headers: { authorization } });
    expect([relogin.status, relogin.meta.result_subcode]).toEqual([401, 22]);
  });

  test('revocation is read within the bound', async () => {
    const created = await createCredential(server.database.db, { companyName: 'bounded', userName: 'dan' });
    const authorization = basicAuthorization(created);
    expect((await callApi(server.url, 'workers.get_count', {}, { headers: { authorization } })).status).toBe(200);
    await revokeCredential(server.database.db, created.accessKey);

    monotonic += REVALIDATE_MS - 1;
    const cached = await callApi(server.url, 'workers.get_count', {}, { headers: { authorization } });
    monotonic += 1;
    const reread = await callApi(server.url, 'workers.get_count', {}, { headers: { authorization } });

    expect(cached.status).toBe(200);
    expect(reread.status).toBe(401);
  });

  test('credential acts for its company', async () => {
    const created = await createCredential(server.database.db, { companyName: 'acme', userName: 'erin' });
    const headers = { authorization: basicAuthorization(created) };
    await callApi(server.url, 'workers.register', { worker: 'acme-box' }, { headers });

    const result = await callApi(server.url, 'workers.get_all', {}, { headers });

    expect(result.data.workers.map((worker: { company: unknown; user: unknown }) => [worker.company, worker.user])).toEqual([
      [
        { id: created.companyId, name: 'acme' },
        { id: created.userId, name: 'erin' },
      ],
    ]);
  });
});

describe.each(TEST_TARGETS)('bootstrap credential on %s', (target) => {
  test('first start logs one pair once', async () => {
    const handle = await createTestDatabase(target);
    try {
      await handle.db.execute('DELETE FROM credentials');
      const { logger, lines } = captureLogger();

      await prepareAuthentication(handle.db, {}, logger);
      await prepareAuthentication(handle.db, {}, logger);

      const withSecret = lines.filter((line) => 'secret_key' in line);
      expect(withSecret).toHaveLength(1);
      expect(withSecret[0].msg).toBe('first start: created a credential for company default, user admin');
      const listed = await listCredentials(handle.db);
      expect(listed.map((row) => [row.accessKey, row.companyName, row.userName])).toEqual([
        [withSecret[0].access_key, 'default', 'admin'],
      ]);
      const caller = await new Authenticator().authenticateBasic(handle.db, withSecret[0].access_key as string, withSecret[0].secret_key as string);
      expect(caller.companyName).toBe('default');
    } finally {
      await handle.close();
    }
  });

  test('env pair is the bootstrap credential', async () => {
    // createTestDatabase prepares authentication with the test run's env pair.
    const handle = await createTestDatabase(target);
    try {
      const { logger, lines } = captureLogger();
      await prepareAuthentication(handle.db, {}, logger);

      const listed = await listCredentials(handle.db);
      expect(listed.map((row) => [row.accessKey, row.companyName, row.userName, row.revokedAt])).toEqual([
        [process.env.WORKERS_ACCESS_KEY, 'default', 'admin', null],
      ]);
      expect(lines.filter((line) => 'secret_key' in line)).toEqual([]);
    } finally {
      await handle.close();
    }
  });

  test('changed env secret replaces the hash', async () => {
    const handle = await createTestDatabase(target);
    try {
      const { logger, lines } = captureLogger();
      const pair = { accessKey: process.env.WORKERS_ACCESS_KEY ?? '', secretKey: 'a new secret' };

      await prepareAuthentication(handle.db, { bootstrapPair: pair }, logger);

      const hashes = await queryRows<{ secret_hash: string }>(handle.db, sql`SELECT secret_hash FROM credentials`);
      expect(hashes).toHaveLength(1);
      expect(await verifySecret('a new secret', hashes[0].secret_hash)).toBe(true);
      expect(lines.map((line) => line.msg)).toEqual([
        'WORKERS_SECRET_KEY changed: the stored secret of the bootstrap credential was replaced',
      ]);
    } finally {
      await handle.close();
    }
  });

  test('stored secret is an scrypt hash', async () => {
    const handle = await createTestDatabase(target);
    try {
      const created = await createCredential(handle.db, { companyName: 'hashing', userName: 'frank' });
      const [row] = await queryRows<{ secret_hash: string }>(
        handle.db,
        sql`SELECT secret_hash FROM credentials WHERE access_key = ${created.accessKey}`,
      );

      expect(row.secret_hash).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
      expect(row.secret_hash).not.toContain(created.secretKey);
    } finally {
      await handle.close();
    }
  });
});

describe('credentials CLI', () => {
  let dataDir = '';

  beforeAll(() => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'fleet-credentials-'));
  });

  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Runs `npm run credentials -- <args>` on the test's data folder and returns its exit code and output. */
  async function credentialsCli(args: string[]): Promise<{ code: number | string; stdout: string[]; stderr: string }> {
    const saved = { url: process.env.DATABASE_URL, dir: process.env.WORKERS_DATA_DIR };
    delete process.env.DATABASE_URL;
    process.env.WORKERS_DATA_DIR = dataDir;
    try {
      const script = runScript('scripts/credentials.ts', args);
      const code = await script.exited;

      return { code, stdout: script.stdoutLines, stderr: script.stderr() };
    } finally {
      process.env.WORKERS_DATA_DIR = saved.dir;
      if (saved.url !== undefined) process.env.DATABASE_URL = saved.url;
      if (saved.dir === undefined) delete process.env.WORKERS_DATA_DIR;
    }
  }

  test('create, list and revoke', async () => {
    const created = await credentialsCli(['create', '--company', 'cli corp', '--user', 'gina', '--json']);
    expect(created.code).toBe(0);
    const pair = JSON.parse(created.stdout[0]) as { access_key: string; secret_key: string; company: string; user: string };
    expect(pair).toEqual({
      access_key: expect.stringMatching(/^[A-Z2-7]{24}$/),
      secret_key: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      company: 'cli corp',
      user: 'gina',
    });

    const listed = await credentialsCli(['list', '--json']);
    expect(JSON.parse(listed.stdout[0])).toEqual([
      { access_key: pair.access_key, company: 'cli corp', user: 'gina', created: expect.any(String), revoked: null },
    ]);

    // The CLI creates no bootstrap pair: the service does that at its first start.
    const handle = await openDatabase({ kind: 'pglite', dataDir });
    try {
      const caller = await new Authenticator().authenticateBasic(handle.db, pair.access_key, pair.secret_key);
      expect([caller.companyName, caller.userName, caller.role]).toEqual(['cli corp', 'gina', 'user']);
    } finally {
      await handle.close();
    }

    const revoked = await credentialsCli(['revoke', pair.access_key]);
    expect([revoked.code, revoked.stdout]).toEqual([0, [`Revoked ${pair.access_key}.`]]);

    const after = await credentialsCli(['list']);
    expect(after.stdout[0]).toBe('access_key\tcompany\tuser\tcreated\tstatus');
    expect(after.stdout[1]).toMatch(new RegExp(`^${pair.access_key}\tcli corp\tgina\t\\S+\trevoked \\S+$`));
    const reopened = await openDatabase({ kind: 'pglite', dataDir });
    try {
      const attempt = new Authenticator().authenticateBasic(reopened.db, pair.access_key, pair.secret_key);
      await expect(attempt).rejects.toBeInstanceOf(ApiError);
      await expect(attempt).rejects.toMatchObject({ code: 401, subcode: 22 });
    } finally {
      await reopened.close();
    }
  });

  test.each([
    [['create', '--company', 'x'], 'create needs --company <name> and --user <name>\nRun with --help for usage.\n', 2],
    [['create', '--company', 'x', '--user', 'y', '--role', 'root'], 'invalid --role "root": expected admin or user\nRun with --help for usage.\n', 2],
    [['revoke', 'NOSUCHKEY'], 'no valid credential has the access key "NOSUCHKEY": see `npm run credentials -- list`\n', 1],
  ])('rejects %j', async (args, stderr, code) => {
    const result = await credentialsCli(args);

    expect([result.code, result.stderr]).toEqual([code, stderr]);
  });
});
