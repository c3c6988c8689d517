import { expect, test, type Page } from '@playwright/test';

import type { MachineStats } from '../lib/schemas/workers';
import { createQueue, createTask, seedWorker, unregisterWorker } from './helpers/workers-api';

/** Each page, once loaded with data and refreshed, has logged no console error and thrown nothing. */

const WORKER_ID = `console check/${process.pid}:gpu0 %`;
const MACHINE_STATS: MachineStats = {
  cpu_usage: [20, 40],
  cpu_temperature: [45],
  memory_used: 1_000,
  memory_free: 3_000,
  gpu_usage: [50],
  gpu_memory_used: [1_000],
  gpu_memory_free: [7_000],
  gpu_temperature: [60],
  network_rx: 0.5,
  network_tx: 0.1,
  disk_read: 1,
  disk_write: 0,
  disk_free_home: 50,
  disk_free_temp: 60,
};

test.beforeAll(async ({ baseURL }) => {
  const server = baseURL ?? '';
  const queue = await createQueue(server, `console queue ${process.pid}`);
  const task = await createTask(server, `console task ${process.pid}`);
  await seedWorker(server, WORKER_ID, MACHINE_STATS, { tags: ['console'], task, queue });
});

test.afterAll(async ({ baseURL }) => {
  await unregisterWorker(baseURL ?? '', WORKER_ID);
});

/** Starts recording console errors and uncaught exceptions of `page`. */
function recordBrowserErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`uncaught exception: ${error.message}`));

  return errors;
}

test('workers page logs no console errors', async ({ page }) => {
  const errors = recordBrowserErrors(page);

  await page.goto('/');
  await expect(page.getByRole('link', { name: WORKER_ID, exact: true })).toBeVisible();
  await page.waitForResponse((response) => response.url().endsWith('/workers.get_all'));
  await page.getByLabel('Filter by worker id').fill('console check/*');
  await expect(page.getByText('1 worker matches')).toBeVisible();

  expect(errors).toEqual([]);
});

test('worker page logs no console errors', async ({ page }) => {
  const errors = recordBrowserErrors(page);

  await page.goto(`/workers/view?${new URLSearchParams({ id: WORKER_ID })}`);
  const gpuChart = page.getByRole('figure', { name: 'GPU usage chart' });
  await expect(gpuChart).toHaveAttribute('data-point-count', '1');
  await gpuChart.getByRole('application').hover();
  await page.getByRole('checkbox', { name: 'One line per core or GPU' }).check();
  await expect(page.getByRole('figure', { name: 'CPU usage chart' })).toHaveAttribute('data-series-count', '2');
  await page.getByRole('radio', { name: '7 d' }).check();
  await expect(page.getByText('Average per 1 h bucket over the last 7 d.')).toBeVisible();

  expect(errors).toEqual([]);
});

test('queues page logs no console errors', async ({ page }) => {
  const errors = recordBrowserErrors(page);

  await page.goto('/queues');
  await expect(page.getByRole('row', { name: new RegExp(`console queue ${process.pid}`) })).toBeVisible();
  await page.waitForResponse((response) => response.url().endsWith('/queues.get_all'));

  expect(errors).toEqual([]);
});

test('activity page logs no console errors', async ({ page }) => {
  const errors = recordBrowserErrors(page);

  await page.goto('/activity');
  await expect(page.getByRole('figure', { name: 'Fleet activity chart' })).toBeVisible();
  await page.getByRole('radio', { name: '24 h' }).check();
  await expect(page.getByText(/in each 15 min bucket/)).toBeVisible();

  expect(errors).toEqual([]);
});
