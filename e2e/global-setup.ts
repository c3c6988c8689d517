import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import type { FullConfig } from '@playwright/test';

import { REPOSITORY_ROOT, startScript, type ScriptProcess } from './helpers/processes';

/** The first run builds the dashboard before the service listens; a build takes minutes on two cores. */
const SERVICE_START_TIMEOUT_MS = 10 * 60_000;
const POLL_INTERVAL_MS = 500;

async function isServiceReady(baseURL: string): Promise<boolean> {
  try {
    const response = await fetch(`${baseURL}/api/v2.30/workers.get_count`, { method: 'POST', body: '{}' });

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
 * Starts the service the way `npm start` does (build when sources changed, then serve) on
 * the configured port, with an embedded PGlite database in a fresh temporary directory.
 * Returns the teardown, which stops the service and deletes that directory.
 */
export default async function globalSetup(config: FullConfig): Promise<() => Promise<void>> {
  const baseURL = config.projects[0]?.use.baseURL;
  if (!baseURL) throw new Error('playwright.config.ts must set use.baseURL');

  const dataDirectory = mkdtempSync(path.join(os.tmpdir(), 'fleet-e2e-'));
  const logDir = path.join(REPOSITORY_ROOT, 'test-results');
  console.log(`e2e: starting the service at ${baseURL} (it builds first when sources changed); log: ${logDir}/service.log`);

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
  } catch (error) {
    await teardown();
    throw error;
  }

  return teardown;
}
