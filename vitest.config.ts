import { randomBytes } from 'node:crypto';
import path from 'node:path';

import { defineConfig } from 'vitest/config';

// One id per test run names the PostgreSQL databases the run creates, so that its
// teardown drops those and nothing else.
process.env.FLEET_TEST_RUN_ID ??= `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;

export default defineConfig({
  resolve: { alias: { '@': path.resolve(__dirname) } },
  test: {
    include: ['tests/**/*.test.ts', 'lib/**/*.test.ts', 'agent/**/*.test.ts'],
    environment: 'node',
    globalSetup: ['tests/helpers/global-setup.ts'],
    env: { FLEET_TEST_RUN_ID: process.env.FLEET_TEST_RUN_ID },
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
