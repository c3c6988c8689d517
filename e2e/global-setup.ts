import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import type { FullConfig } from '@playwright/test';

import { basicAuthorization } from '../agent/api-client';
import { SIGNED_IN_STATE } from '../playwright.config';
import { REPOSITORY_ROOT, startScript, type ScriptProcess } from './helpers/processes';
import { signIn } from './helpers/session';
import { bootstrapCredentials } from './helpers/workers-api';

/** The first run builds the dashboard before the service listens; a build takes minutes on two cores. */
const SERVICE_START_TIMEOUT_MS = 10 * 60_000;
const POLL_INTERVAL_MS = 500;

async function isServiceReady(baseURL: string): Promise<boolean> {
  try {
    const response = await fetch(`${baseURL}/api/v2.30/workers.get_count`, {
      method: 'POST',
      body: '{}',
      headers: { Authorization: basicAuthorization(bootstrapCredentials()) },
    });

    return response.status === 200;
  } catch {
    return false;
  }
}

async function waitForService(baseURL: string, server: ScriptProcess): Promise<void> {
  const deadline = Date.now() + SERVICE_START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (server.hasExited()) {
      throw new Error(`the service exited with code ${await server.exited} before it listened:\n${server.logTail()}`);
    }
    if (await isServiceReady(baseURL)) return;
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }

  throw new Error(
    `the service did not answer at ${baseURL} within ${SERVICE_START_TIMEOUT_MS / 1000} s:\n${server.logTail()}`,
  );
}

/**
 * Creates the credential of a second company, `tenant-b`, with the credentials CLI before
 * the service locks the data folder, and passes the pair to the tests in the environment.
 */
function createTenantCredential(dataDirectory: string): void {
  const output = execFileSync(
    process.execPath,
    ['--import', 'tsx', 'scripts/credentials.ts', 'create', '--company', 'tenant-b', '--user', 'bob', '--json'],
    { cwd: REPOSITORY_ROOT, env: { ...process.env, WORKERS_DATA_DIR: dataDirectory, DATABASE_URL: '' }, encoding: 'utf8' },
  );
  const pair = JSON.parse(output) as { access_key: string; secret_key: string };
  process.env.E2E_TENANT_ACCESS_KEY = pair.access_key;
  process.env.E2E_TENANT_SECRET_KEY = pair.secret_key;
}

/**
 * Starts the service the way `npm start` does (build when sources changed, then serve) on
 * the configured port, with an embedded PGlite database in a fresh temporary directory
 * whose bootstrap credential is the run's pair. Signs in with it and saves the browser
 * state every page test starts from. Returns the teardown, which stops the service and
 * deletes that directory.
 */
export default async function globalSetup(config: FullConfig): Promise<() => Promise<void>> {
  const baseURL = config.projects[0]?.use.baseURL;
  if (!baseURL) throw new Error('playwright.config.ts must set use.baseURL');

  const dataDirectory = mkdtempSync(path.join(os.tmpdir(), 'fleet-e2e-'));
  const logDir = path.join(REPOSITORY_ROOT, 'test-results');
  console.log(`e2e: starting the service at ${baseURL} (it builds first when sources changed); log: ${logDir}/service.log`);

  createTenantCredential(dataDirectory);
  const server = startScript('service', 'scripts/start.ts', [], {
    env: {
      PORT: new URL(baseURL).port,
      HOST: '127.0.0.1',
      WORKERS_DATA_DIR: dataDirectory,
      // The suite always runs on embedded PGlite, even where DATABASE_URL points at a server.
      DATABASE_URL: undefined,
    },
    logDir,
  });

  const teardown = async () => {
    const exitCode = await server.stop('SIGTERM', 15_000);
    rmSync(dataDirectory, { recursive: true, force: true });
    console.log(`e2e: service stopped (exit code ${exitCode})`);
  };

  try {
    await waitForService(baseURL, server);
    const cookie = await signIn(baseURL, bootstrapCredentials());
    mkdirSync(path.dirname(SIGNED_IN_STATE), { recursive: true });
    writeFileSync(SIGNED_IN_STATE, JSON.stringify({ cookies: [cookie], origins: [] }));
  } catch (error) {
    await teardown();
    throw error;
  }

  return teardown;
}
