import { expect, test, type Page } from '@playwright/test';

import { callWorkers, createQueue, createTask, unregisterWorker } from './helpers/workers-api';
import { emptyResponseSchema } from '../lib/schemas/workers';

/** Security headers, the Content Security Policy, and markup in stored strings printed as text. */

// Each string would run a script if a page parsed it as HTML: every page must print it.
const HOSTILE_WORKER_ID = `<img src=x onerror=window.__xss=1>${process.pid}`;
const HOSTILE_TAGS = ['<script>window.__xss=2</script>', '"><svg onload=window.__xss=3>'];
const HOSTILE_SYSTEM_TAG = "<iframe src=javascript:window.__xss=4>";
// A task and a queue with these names; the service makes their ids.
const HOSTILE_TASK = '<script>window.__xss=5</script>';
const HOSTILE_QUEUE = '<img src=x onerror=window.__xss=6>';

const PAGES = ['/', `/workers/view?${new URLSearchParams({ id: HOSTILE_WORKER_ID })}`, '/activity'];

const PAGE_POLICY = new RegExp(
  [
    "^default-src 'self'",
    "script-src 'self' 'nonce-[A-Za-z0-9+/]{22}==' 'strict-dynamic'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'$",
  ].join('; '),
);

test.beforeAll(async ({ baseURL }) => {
  const url = baseURL ?? '';
  const queue = await createQueue(url, HOSTILE_QUEUE);
  const task = await createTask(url, HOSTILE_TASK);
  await callWorkers(
    url,
    'register',
    { worker: HOSTILE_WORKER_ID, timeout: 3_600, tags: HOSTILE_TAGS, system_tags: [HOSTILE_SYSTEM_TAG], queues: [queue] },
    emptyResponseSchema,
  );
  await callWorkers(
    url,
    'status_report',
    { worker: HOSTILE_WORKER_ID, timestamp: Date.now(), task, queue, machine_stats: { cpu_usage: 10 } },
    emptyResponseSchema,
  );
});

test.afterAll(async ({ baseURL }) => {
  await unregisterWorker(baseURL ?? '', HOSTILE_WORKER_ID).catch(() => undefined);
});

/** Starts recording the Content Security Policy violations of `page`, as events and as console messages. */
async function recordPolicyViolations(page: Page): Promise<string[]> {
  const violations: string[] = [];
  page.on('console', (message) => {
    if (message.text().includes('Content Security Policy')) violations.push(`console: ${message.text()}`);
  });
  await page.exposeFunction('__reportViolation', (text: string) => violations.push(`event: ${text}`));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      (window as unknown as { __reportViolation(text: string): void }).__reportViolation(
        `${event.violatedDirective} blocked ${event.blockedURI || 'inline code'}`,
      );
    });
  });

  return violations;
}

async function injectedValue(page: Page): Promise<unknown> {
  return page.evaluate(() => (window as { __xss?: unknown }).__xss);
}

test('page responses carry the security headers', async ({ request }) => {
  for (const path of PAGES) {
    const response = await request.get(path);
    const headers = response.headers();

    expect(response.status(), path).toBe(200);
    expect(headers['content-security-policy'], path).toMatch(PAGE_POLICY);
    expect(headers['x-content-type-options'], path).toBe('nosniff');
    expect(headers['referrer-policy'], path).toBe('same-origin');
    expect(headers['x-frame-options'], path).toBe('DENY');
  }
});

test('each page request gets a new nonce', async ({ request }) => {
  const nonceOf = async () => /'nonce-([^']+)'/.exec((await request.get('/')).headers()['content-security-policy'] ?? '')?.[1];

  const first = await nonceOf();
  const second = await nonceOf();

  expect(first).toBeDefined();
  expect(second).toBeDefined();
  expect(second).not.toBe(first);
});

test('page scripts carry the nonce', async ({ request }) => {
  const response = await request.get('/');
  const nonce = /'nonce-([^']+)'/.exec(response.headers()['content-security-policy'] ?? '')?.[1];
  const html = await response.text();

  const scripts = html.match(/<script\b[^>]*>/g) ?? [];
  expect(scripts.length).toBeGreaterThan(0);
  expect(scripts.filter((tag) => !tag.includes(`nonce="${nonce}"`))).toEqual([]);
});

// Every API response carries them, whatever its status, so the call needs no credentials.
test('API responses carry the security headers', async ({ request }) => {
  const response = await request.post('/api/workers.get_count', { data: {} });
  const headers = response.headers();

  expect(headers['content-type']).toContain('application/json');
  expect(headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
  expect(headers['x-content-type-options']).toBe('nosniff');
  expect(headers['referrer-policy']).toBe('same-origin');
  expect(headers['x-frame-options']).toBe('DENY');
});

test('workers table prints markup as text', async ({ page }) => {
  const violations = await recordPolicyViolations(page);

  await page.goto('/');

  await expect(page.getByRole('link', { name: HOSTILE_WORKER_ID, exact: true })).toBeVisible();
  for (const tag of HOSTILE_TAGS) {
    await expect(page.getByText(tag, { exact: true }).first()).toBeVisible();
  }
  expect(await injectedValue(page)).toBeUndefined();
  await expect(page.locator('main img, main svg[onload], main iframe')).toHaveCount(0);
  expect(violations).toEqual([]);
});

test('worker page prints markup as text', async ({ page }) => {
  const violations = await recordPolicyViolations(page);

  await page.goto(PAGES[1]);

  await expect(page.getByRole('heading', { level: 1, name: HOSTILE_WORKER_ID })).toBeVisible();
  for (const text of [...HOSTILE_TAGS, HOSTILE_SYSTEM_TAG]) {
    await expect(page.getByText(text, { exact: true }).first()).toBeVisible();
  }
  // The task's name shares its line with its running time and iteration.
  await expect(page.getByText(HOSTILE_TASK).first()).toBeVisible();
  await expect(page.getByText(HOSTILE_QUEUE, { exact: true }).first()).toBeVisible();
  await expect(page.getByRole('figure', { name: 'CPU usage chart' })).toHaveAttribute('data-point-count', '1');
  expect(await injectedValue(page)).toBeUndefined();
  await expect(page.locator('main iframe, main svg[onload]')).toHaveCount(0);
  expect(violations).toEqual([]);
});

test('activity page runs no injected script', async ({ page }) => {
  const violations = await recordPolicyViolations(page);

  await page.goto('/activity');

  await expect(page.getByRole('figure', { name: 'Fleet activity chart' })).toBeVisible();
  expect(await injectedValue(page)).toBeUndefined();
  expect(violations).toEqual([]);
});
