import { expect, test } from '@playwright/test';

import { addTaskResponseSchema, getNextTaskResponseSchema } from '../lib/schemas/queues';
import { changeStatusResponseSchema, editTaskResponseSchema } from '../lib/schemas/tasks';
import { callEndpoint, createQueue, createTask, seedWorker, unregisterWorker } from './helpers/workers-api';

/**
 * A queue and tasks created through the API, and a worker running one of them. The
 * workers table shows the names, the task's running time and iteration; the queues page
 * shows the queue's length and next task; each page links to the other.
 */

const SUFFIX = String(process.pid);
const WORKER_ID = `catalog-box-${SUFFIX}:gpu0`;
const QUEUE_NAME = `e2e gpu queue ${SUFFIX}`;
const RUNNING_TASK = `e2e train resnet ${SUFFIX}`;
const NEXT_TASK = `e2e train yolo ${SUFFIX}`;

test.beforeAll(async ({ baseURL }) => {
  const server = baseURL ?? '';
  const queue = await createQueue(server, QUEUE_NAME);
  const running = await createTask(server, RUNNING_TASK);
  const next = await createTask(server, NEXT_TASK);
  await callEndpoint(server, 'queues.add_task', { queue, task: running }, addTaskResponseSchema);
  await callEndpoint(server, 'queues.add_task', { queue, task: next }, addTaskResponseSchema);
  // The worker takes its task from the queue as a daemon does, starts it and reports an iteration.
  const popped = await callEndpoint(server, 'queues.get_next_task', { queue }, getNextTaskResponseSchema);
  expect(popped.entry?.task).toBe(running);
  await callEndpoint(server, 'tasks.started', { task: running }, changeStatusResponseSchema);
  await callEndpoint(server, 'tasks.edit', { task: running, last_iteration: 1234 }, editTaskResponseSchema);

  await seedWorker(server, WORKER_ID, { cpu_usage: 30, gpu_usage: [80] }, { task: running, queue });
});

test.afterAll(async ({ baseURL }) => {
  await unregisterWorker(baseURL ?? '', WORKER_ID).catch(() => undefined);
});

test('workers table shows task and queue names', async ({ page }) => {
  await page.goto(`/?pattern=${encodeURIComponent(WORKER_ID)}`);

  const row = page.getByRole('row', { name: new RegExp(WORKER_ID) });
  await expect(row).toBeVisible();
  await expect(row.getByRole('cell', { name: RUNNING_TASK, exact: true })).toBeVisible();
  await expect(row.getByRole('link', { name: QUEUE_NAME, exact: true })).toBeVisible();
  await expect(row.getByRole('cell', { name: '1234', exact: true })).toBeVisible();
  await expect(row.getByRole('cell', { name: /^(\d+h )?(\d+m )?\d+s$/ })).toBeVisible();
});

test('queues page shows length, next task and workers', async ({ page }) => {
  await page.goto(`/?pattern=${encodeURIComponent(WORKER_ID)}`);
  await page.getByRole('row', { name: new RegExp(WORKER_ID) }).getByRole('link', { name: QUEUE_NAME, exact: true }).click();

  await expect(page).toHaveURL(/\/queues#queue-[0-9a-f]{32}$/);
  const row = page.getByRole('row', { name: new RegExp(QUEUE_NAME) });
  await expect(row.getByRole('cell', { name: '1', exact: true })).toBeVisible();
  await expect(row.getByRole('cell', { name: NEXT_TASK, exact: true })).toBeVisible();

  await row.getByRole('link', { name: WORKER_ID, exact: true }).click();

  await expect(page).toHaveURL(`/workers/view?${new URLSearchParams({ id: WORKER_ID })}`);
  await expect(page.getByText(RUNNING_TASK)).toBeVisible();
});
