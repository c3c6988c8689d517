import { expect, test } from '@playwright/test';

import { seedWorker, unregisterWorker } from './helpers/workers-api';

/** Error, empty and hostile-input states of the pages. */

// An id made of markup: the pages must print it, never parse it.
const MARKUP_WORKER_ID = `<img src=x onerror="window.__injected=1">${process.pid}`;

test.afterAll(async ({ baseURL }) => {
  await unregisterWorker(baseURL ?? '', MARKUP_WORKER_ID).catch(() => undefined);
});

/** Builds the response envelope a route stub sends for `endpoint`. */
function stubEnvelope(endpoint: string, code: number, subcode: number, message: string, data: object) {
  return JSON.stringify({
    meta: {
      id: 'e2e',
      trx: 'e2e',
      endpoint: { name: endpoint, requested_version: '2.30', actual_version: '2.30' },
      result_code: code,
      result_subcode: subcode,
      result_msg: message,
      error_stack: null,
      error_data: {},
    },
    data,
  });
}

const UNAVAILABLE_MESSAGE = 'database unavailable, retry later';

test('workers table shows server error and retries', async ({ page }) => {
  const unavailable = stubEnvelope('workers.get_all', 503, 102, UNAVAILABLE_MESSAGE, {});
  await page.route('**/api/v2.30/workers.get_all', (route) =>
    route.fulfill({ status: 503, contentType: 'application/json', body: unavailable }),
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

test('queues page shows server error and retries', async ({ page }) => {
  const unavailable = stubEnvelope('queues.get_all', 503, 102, UNAVAILABLE_MESSAGE, {});
  await page.route('**/api/v2.30/queues.get_all', (route) =>
    route.fulfill({ status: 503, contentType: 'application/json', body: unavailable }),
  );

  await page.goto('/queues');

  const alert = page.getByRole('main').getByRole('alert');
  await expect(alert).toContainText('Could not load the queues');
  await expect(alert).toContainText('database unavailable, retry later (queues.get_all, result 503/102)');

  await page.unroute('**/api/v2.30/queues.get_all');
  await alert.getByRole('button', { name: 'Retry' }).click();

  await expect(page.getByRole('main').getByRole('alert')).toHaveCount(0);
  await expect(page.getByText(/\d+ queues?$/)).toBeVisible();
});

test('queues page without queues shows empty state', async ({ page }) => {
  const empty = stubEnvelope('queues.get_all', 200, 0, 'OK', { queues: [] });
  await page.route('**/api/v2.30/queues.get_all', (route) =>
    route.fulfill({ status: 200, contentType: 'application/json', body: empty }),
  );

  await page.goto('/queues');

  await expect(page.getByText('No queues', { exact: true })).toBeVisible();
  await expect(page.getByText('0 queues')).toBeVisible();
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
