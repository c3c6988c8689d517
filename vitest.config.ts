import { randomBytes } from 'node:crypto';
import path from 'node:path';

import { defineConfig } from 'vitest/config';

// One id per test run names the PostgreSQL databases the run creates, so that its
// teardown drops those and nothing else.
process.env.FLEET_TEST_RUN_ID ??= `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;

// The bootstrap credential of every database and service the tests start, and the pair
// the test helpers, the daemon and the demo send: one random pair per run.
process.env.WORKERS_ACCESS_KEY ??= `TEST${randomBytes(10).toString('hex').toUpperCase()}`;
process.env.WORKERS_SECRET_KEY ??= randomBytes(24).toString('base64url');

export default defineConfig({
  resolve: { alias: { '@': path.resolve(__dirname) } },
  test: {
    include: ['tests/**/*.test.ts', 'lib/**/*.test.ts', 'db/**/*.test.ts', 'agent/**/*.test.ts'],
    environment: 'node',
    globalSetup: ['tests/helpers/global-setup.ts'],
    env: {
      FLEET_TEST_RUN_ID: process.env.FLEET_TEST_RUN_ID,
      WORKERS_ACCESS_KEY: process.env.WORKERS_ACCESS_KEY,
      WORKERS_SECRET_KEY: process.env.WORKERS_SECRET_KEY,
    },
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
