import os from 'node:os';
import path from 'node:path';

import { expect, test, type Locator } from '@playwright/test';

import { REPOSITORY_ROOT, startScript, type ScriptProcess } from './helpers/processes';
import { listLiveWorkerIds, listMetricKeys } from './helpers/workers-api';

/**
 * The dashboard over a real fleet: the simulated demo fleet (two hours of backfill, then
 * live reports) and the real daemon reporting this machine, both as child processes.
 * The tests run in order on one page of state: the last one stops the daemon.
 */
test.describe.configure({ mode: 'serial' });

// The id has a space, `/`, `:` and `%`, which the worker page must carry through its URL.
const DAEMON_WORKER_ID = `e2e daemon/${process.pid}:cpu %41`;
const DEMO_WORKERS = 6;
const REPORT_PERIOD_SECONDS = '2';
const LOG_DIR = path.join(REPOSITORY_ROOT, 'test-results');

let demo: ScriptProcess | undefined;
let daemon: ScriptProcess | undefined;
/** Workers live before this file started its processes, left by other test files. */
let earlierWorkerIds: string[] = [];

function baseUrlOf(baseURL: string | undefined): string {
  if (!baseURL) throw new Error('use.baseURL is not set');

  return baseURL;
}

async function pointCount(chart: Locator): Promise<number> {
  return Number(await chart.getAttribute('data-point-count'));
}

async function seriesCount(chart: Locator): Promise<number> {
  return Number(await chart.getAttribute('data-series-count'));
}

test.beforeAll(async ({ baseURL }) => {
  const server = baseUrlOf(baseURL);
  earlierWorkerIds = await listLiveWorkerIds(server);
  demo = startScript(
    'demo',
    'scripts/demo.ts',
    ['--server', server, '--workers', String(DEMO_WORKERS), '--backfill-hours', '2', '--period', REPORT_PERIOD_SECONDS],
    { logDir: LOG_DIR },
  );
  daemon = startScript(
    'daemon',
    'agent/cli.ts',
    ['--server', server, '--worker', DAEMON_WORKER_ID, '--period', REPORT_PERIOD_SECONDS],
    { logDir: LOG_DIR },
  );
});

test.afterAll(async () => {
  const [demoExit, daemonExit] = await Promise.all([demo?.stop(), daemon?.stop()]);
  // Both unregister their workers on SIGTERM and exit 0; anything else is a fault worth seeing.
  expect(demoExit, demo?.logTail()).toBe(0);
  expect(daemonExit, daemon?.logTail()).toBe(0);
});

test('table lists demo and daemon workers', async ({ page, baseURL }) => {
  const server = baseUrlOf(baseURL);
  await expect
    .poll(async () => (await listLiveWorkerIds(server)).includes(DAEMON_WORKER_ID), { timeout: 60_000 })
    .toBe(true);
  const startedWorkerIds = async () =>
    (await listLiveWorkerIds(server)).filter((workerId) => !earlierWorkerIds.includes(workerId));
  await expect.poll(async () => (await startedWorkerIds()).length, { timeout: 60_000 }).toBe(DEMO_WORKERS + 1);
  const workerIds = await listLiveWorkerIds(server);

  await page.goto('/');

  await expect(page.getByText(`${workerIds.length} workers live`)).toBeVisible();
  for (const workerId of workerIds) {
    await expect(page.getByRole('link', { name: workerId, exact: true })).toBeVisible();
  }
  const daemonRow = page.getByRole('row').filter({ has: page.getByRole('link', { name: DAEMON_WORKER_ID }) });
  // Cells after the row header: user, IP, task, running time, iteration, queue, last activity, tags.
  await expect(daemonRow.getByRole('cell').nth(6)).toHaveText(/^\d+ s ago$/);
});

test('id filter stays in the URL', async ({ page }) => {
  await page.goto('/');
  const filter = page.getByLabel('Filter by worker id');

  await filter.fill('e2e daemon/*');

  await expect(page).toHaveURL(/[?&]pattern=e2e(\+|%20)daemon%2F\*/);
  await expect(page.getByText('1 worker matches')).toBeVisible();
  await expect(page.getByRole('link', { name: DAEMON_WORKER_ID, exact: true })).toBeVisible();
  await expect(page.locator('tbody tr')).toHaveCount(1);

  await page.reload();

  await expect(filter).toHaveValue('e2e daemon/*');
  await expect(page.locator('tbody tr')).toHaveCount(1);
});

test('daemon page charts CPU usage', async ({ page }) => {
  await page.goto('/');

  await page.getByRole('link', { name: DAEMON_WORKER_ID, exact: true }).click();

  await expect(page).toHaveURL(/\/workers\/view\?id=/);
  expect(new URL(page.url()).searchParams.get('id')).toBe(DAEMON_WORKER_ID);
  await expect(page.getByRole('heading', { level: 1, name: DAEMON_WORKER_ID })).toBeVisible();
  await expect(page.getByText('Live', { exact: true })).toBeVisible();
  const cpuChart = page.getByRole('figure', { name: 'CPU usage chart' });
  await expect(cpuChart).toBeVisible();
  await expect.poll(() => pointCount(cpuChart)).toBeGreaterThan(0);
  await expect(cpuChart.locator('.recharts-line-curve')).toHaveCount(1);
  await expect(page.getByRole('figure', { name: 'Memory chart' })).toBeVisible();
});

test('per-core toggle draws core lines', async ({ page }) => {
  await page.goto(`/workers/view?${new URLSearchParams({ id: DAEMON_WORKER_ID })}`);
  const cpuChart = page.getByRole('figure', { name: 'CPU usage chart' });
  await expect.poll(() => pointCount(cpuChart)).toBeGreaterThan(0);

  await page.getByRole('checkbox', { name: 'One line per core or GPU' }).check();

  await expect(page).toHaveURL(/[?&]split=1/);
  // The daemon sends cpu_usage as one value per core of this machine.
  await expect.poll(() => seriesCount(cpuChart)).toBe(os.cpus().length);
  await expect(cpuChart.locator('.recharts-line-curve')).toHaveCount(os.cpus().length);
});

test('range picker changes the bucket size', async ({ page }) => {
  await page.goto(`/workers/view?${new URLSearchParams({ id: DAEMON_WORKER_ID })}`);
  await expect(page.getByText('Average per 15 s bucket over the last 1 h.')).toBeVisible();

  await page.getByRole('radio', { name: '6 h' }).check();

  await expect(page).toHaveURL(/[?&]range=6h/);
  await expect(page.getByText('Average per 2 min bucket over the last 6 h.')).toBeVisible();
  await expect.poll(() => pointCount(page.getByRole('figure', { name: 'CPU usage chart' }))).toBeGreaterThan(0);
});

test('demo GPU page charts GPUs', async ({ page, baseURL }) => {
  const server = baseUrlOf(baseURL);
  const demoIds = (await listLiveWorkerIds(server)).filter(
    (workerId) => workerId !== DAEMON_WORKER_ID && !earlierWorkerIds.includes(workerId),
  );
  let gpuWorkerId: string | undefined;
  await expect
    .poll(
      async () => {
        for (const workerId of demoIds) {
          if ((await listMetricKeys(server, workerId)).includes('gpu_usage')) gpuWorkerId = workerId;
        }

        return gpuWorkerId !== undefined;
      },
      { timeout: 60_000, message: 'a demo worker reports gpu_usage' },
    )
    .toBe(true);

  await page.goto(`/workers/view?${new URLSearchParams({ id: gpuWorkerId ?? '' })}`);

  for (const name of ['GPU usage chart', 'GPU memory chart', 'CPU usage chart']) {
    const chart = page.getByRole('figure', { name });
    await expect(chart).toBeVisible();
    await expect.poll(() => pointCount(chart)).toBeGreaterThan(0);
  }
});

test('activity page charts the fleet', async ({ page }) => {
  await page.goto('/');

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Fleet activity' }).click();

  await expect(page).toHaveURL(/\/activity$/);
  const chart = page.getByRole('figure', { name: 'Fleet activity chart' });
  await expect(chart).toBeVisible();
  // One hour in 60 s buckets: 60 or 61 buckets, depending on where the minute boundary falls.
  await expect.poll(() => pointCount(chart)).toBeGreaterThanOrEqual(60);
  expect(await pointCount(chart)).toBeLessThanOrEqual(61);
  await expect(chart.locator('.recharts-line-curve')).toHaveCount(2);
});

test('stopped daemon shows stored charts', async ({ page }) => {
  const exitCode = await daemon?.stop();
  expect(exitCode, daemon?.logTail()).toBe(0);

  await page.goto(`/workers/view?${new URLSearchParams({ id: DAEMON_WORKER_ID })}`);

  await expect(page.getByRole('note')).toHaveText(/This worker is not live/);
  await expect.poll(() => pointCount(page.getByRole('figure', { name: 'CPU usage chart' }))).toBeGreaterThan(0);
});
