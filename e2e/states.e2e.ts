import { expect, test } from '@playwright/test';

import { seedWorker, unregisterWorker } from './helpers/workers-api';

/** Error, empty and hostile-input states of the pages. */

// An id made of markup: the pages must print it, never parse it.
const MARKUP_WORKER_ID = `<img src=x onerror="window.__injected=1">${process.pid}`;

test.afterAll(async ({ baseURL }) => {
  await unregisterWorker(baseURL ?? '', MARKUP_WORKER_ID).catch(() => undefined);
});

test('workers table shows server error and retries', async ({ page }) => {
  const unavailable = {
    meta: {
      id: 'e2e',
      trx: 'e2e',
      endpoint: { name: 'workers.get_all', requested_version: '2.30', actual_version: '2.30' },
      result_code: 503,
      result_subcode: 102,
      result_msg: 'database unavailable, retry later',
      error_stack: null,
      error_data: {},
    },
    data: {},
  };
  await page.route('**/api/v2.30/workers.get_all', (route) =>
    route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify(unavailable) }),
  );

  await page.goto('/');

  // Scoped to main: the Next.js route announcer is an empty alert region too.
  const alert = page.getByRole('main').getByRole('alert');
  await expect(alert).toContainText('Could not load the workers');
  await expect(alert).toContainText('database unavailable, retry later (workers.get_all, result 503/102)');

  await page.unroute('**/api/v2.30/workers.get_all');
  await alert.getByRole('button', { name: 'Retry' }).click();

  await expect(page.getByRole('main').getByRole('alert')).toHaveCount(0);
  await expect(page.getByText(/\d+ workers? live/)).toBeVisible();
});

test('filter without match shows empty state', async ({ page }) => {
  await page.goto(`/?pattern=${encodeURIComponent('no-such-worker-*')}`);

  await expect(page.getByText('No live worker matches this filter')).toBeVisible();
  await expect(page.getByText('0 workers match')).toBeVisible();
});

test('workers path redirects to table', async ({ page }) => {
  await page.goto('/workers');

  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Workers' })).toBeVisible();
});

test('worker page without id asks for one', async ({ page }) => {
  await page.goto('/workers/view');

  await expect(page.getByText('This page needs a worker id')).toBeVisible();
  await expect(page.getByRole('link', { name: 'workers table' })).toHaveAttribute('href', '/');
});

test('unknown worker page shows empty state', async ({ page }) => {
  await page.goto(`/workers/view?${new URLSearchParams({ id: `no such worker ${process.pid}` })}`);

  await expect(page.getByText('Unknown worker')).toBeVisible();
  await expect(page.getByRole('figure')).toHaveCount(0);
});

test('worker id with markup renders as text', async ({ page, baseURL }) => {
  await seedWorker(baseURL ?? '', MARKUP_WORKER_ID, { cpu_usage: 10 }, { tags: ['<b>bold</b>'] });

  await page.goto('/');

  const link = page.getByRole('link', { name: MARKUP_WORKER_ID, exact: true });
  await expect(link).toBeVisible();
  await expect(page.getByText('<b>bold</b>', { exact: true }).first()).toBeVisible();
  await link.click();
  await expect(page.getByRole('heading', { level: 1, name: MARKUP_WORKER_ID })).toBeVisible();
  await expect(page.getByRole('figure', { name: 'CPU usage chart' })).toHaveAttribute('data-point-count', '1');
  expect(await page.evaluate(() => (window as { __injected?: number }).__injected)).toBeUndefined();
  await expect(page.locator('main img')).toHaveCount(0);
});
