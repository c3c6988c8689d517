import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';

import { defineConfig } from '@playwright/test';

/**
 * End-to-end tests: the real service (built when its sources changed, embedded PGlite in
 * a fresh temporary directory) started by e2e/global-setup.ts, the real demo fleet and
 * daemon as child processes, and Chromium from the system.
 */

// The ports 3400-3499 are reserved for this suite's servers on development machines.
const FIRST_PORT = 3400;
const LAST_PORT = 3499;

/**
 * Finds the first port in the range that 127.0.0.1 can listen on. It runs synchronously
 * in a child process because the config must know its base URL when it loads.
 */
function findFreePort(): number {
  const script = `
    const net = require('node:net');
    const tryPort = (port) => {
      if (port > ${LAST_PORT}) { console.error('no free port in ${FIRST_PORT}-${LAST_PORT}'); process.exit(1); }
      const server = net.createServer();
      server.once('error', () => tryPort(port + 1));
      server.listen(port, '127.0.0.1', () => server.close(() => console.log(port)));
    };
    tryPort(${FIRST_PORT});
  `;

  return Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim());
}

// The runner loads this file again in every worker process, which inherits the runner's
// environment: the port picked first is kept there so all processes agree on it.
process.env.E2E_PORT ??= String(findFreePort());
const baseURL = `http://127.0.0.1:${process.env.E2E_PORT}`;

// The service's bootstrap pair for this run, kept in the environment like the port: the
// helpers, the demo fleet and the daemon send it, and global setup signs in with it.
process.env.WORKERS_ACCESS_KEY ??= `E2E${randomBytes(10).toString('hex').toUpperCase()}`;
process.env.WORKERS_SECRET_KEY ??= randomBytes(24).toString('base64url');

/** Browser state signed in as the bootstrap user, written by global setup. */
export const SIGNED_IN_STATE = path.join(__dirname, 'playwright', '.auth', 'default-admin.json');

export default defineConfig({
  testDir: './e2e',
  testMatch: '**/*.e2e.ts',
  outputDir: 'test-results',
  globalSetup: './e2e/global-setup.ts',
  // One worker: the server, the demo fleet, the daemon and Chromium share two cores.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: !!process.env.CI,
  // The first run builds the dashboard inside global setup, which this limit includes.
  globalTimeout: 20 * 60_000,
  timeout: 120_000,
  expect: { timeout: 20_000 },
  reporter: [['list'], ['html', { open: 'never', outputFolder: 'playwright-report' }]],
  use: {
    baseURL,
    // Every page test starts signed in; tests of the sign-in page clear this state.
    storageState: SIGNED_IN_STATE,
    browserName: 'chromium',
    headless: true,
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
    viewport: { width: 1400, height: 1000 },
    screenshot: 'on',
    trace: 'retain-on-failure',
    actionTimeout: 15_000,
    navigationTimeout: 30_000,
  },
});
