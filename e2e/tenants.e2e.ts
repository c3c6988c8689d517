import { expect, test, type Page } from '@playwright/test';

import { submitSignInForm, tenantCredentials } from './helpers/session';
import { bootstrapCredentials, createQueue, createTask, seedWorker, unregisterWorker } from './helpers/workers-api';

/**
 * Two companies report a worker with the same id, queue and task: the dashboard, signed in
 * as either company, shows only that company's worker, tags and charts.
 */

const SHARED_ID = `tenant check/${process.pid}:gpu0`;

test.beforeAll(async ({ baseURL }) => {
  // Each company makes a queue and a task of the same names; their ids differ.
  const url = baseURL ?? '';
  const tenant = tenantCredentials();
  const own = { task: await createTask(url, 'shared task'), queue: await createQueue(url, 'shared-queue') };
  const other = { task: await createTask(url, 'shared task', tenant), queue: await createQueue(url, 'shared-queue', tenant) };
  await seedWorker(url, SHARED_ID, { cpu_usage: 11 }, { ...own, tags: ['company-default'] });
  await seedWorker(url, SHARED_ID, { cpu_usage: 77, gpu_usage: [55] }, { ...other, tags: ['company-tenant-b'], credentials: tenant });
});

test.afterAll(async ({ baseURL }) => {
  await unregisterWorker(baseURL ?? '', SHARED_ID, bootstrapCredentials());
  await unregisterWorker(baseURL ?? '', SHARED_ID, tenantCredentials());
});

async function expectOwnWorker(page: Page, ownTag: string, otherTag: string, charts: { gpu: boolean }): Promise<void> {
  await page.goto(`/?pattern=${encodeURIComponent('tenant check/*')}`);
  const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: SHARED_ID, exact: true }) });
  await expect(row).toHaveCount(1);
  await expect(row.getByText(ownTag, { exact: true })).toBeVisible();
  await expect(page.getByText(otherTag, { exact: true })).toHaveCount(0);

  await page.goto(`/workers/view?${new URLSearchParams({ id: SHARED_ID })}`);
  await expect(page.getByRole('figure', { name: 'CPU usage chart' })).toHaveAttribute('data-point-count', '1');
  await expect(page.getByRole('figure', { name: 'GPU usage chart' })).toHaveCount(charts.gpu ? 1 : 0);
}

test('default company sees only its worker', async ({ page }) => {
  await expectOwnWorker(page, 'company-default', 'company-tenant-b', { gpu: false });
});

test.describe('signed in as tenant-b', () => {
  test.use({ storageState: { cookies: [], origins: [] } });

  test('tenant-b sees only its worker', async ({ page }) => {
    await page.goto('/sign-in');
    await submitSignInForm(page, tenantCredentials());
    await expect(page.getByRole('heading', { level: 1, name: 'Workers' })).toBeVisible();

    await expectOwnWorker(page, 'company-tenant-b', 'company-default', { gpu: true });
  });
});
