import { expect, test } from '@playwright/test';

import { submitSignInForm } from './helpers/session';
import { bootstrapCredentials } from './helpers/workers-api';

/** The sign-in page, sign-out, and the redirect of pages without a session. */

// These tests start signed out.
test.use({ storageState: { cookies: [], origins: [] } });

test('page without session redirects to sign-in', async ({ page }) => {
  await page.goto('/activity?range=6h');

  await expect(page).toHaveURL(/\/sign-in\?next=%2Factivity%3Frange%3D6h$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Sign in' })).toBeVisible();
});

test('API call without session is 401', async ({ request }) => {
  const response = await request.post('/api/workers.get_all', { data: {} });

  expect(response.status()).toBe(401);
  expect((await response.json()).meta.result_subcode).toBe(20);
});

test('wrong secret shows an error', async ({ page }) => {
  await page.goto('/');
  await submitSignInForm(page, { accessKey: bootstrapCredentials().accessKey, secretKey: 'not the secret' });

  await expect(page.getByRole('main').getByRole('alert')).toHaveText(/Invalid access key or secret key/);
  await expect(page).toHaveURL(/\/sign-in\?/);
  expect(await page.context().cookies()).toEqual([]);
});

test('sign-in returns to the page', async ({ page }) => {
  await page.goto('/activity');
  await expect(page).toHaveURL(/\/sign-in\?/);

  await submitSignInForm(page, bootstrapCredentials());

  await expect(page).toHaveURL(/\/activity$/);
  await expect(page.getByRole('figure', { name: 'Fleet activity chart' })).toBeVisible();
  const [cookie] = await page.context().cookies();
  expect([cookie.name, cookie.httpOnly, cookie.sameSite, cookie.path]).toEqual(['fleet_session', true, 'Lax', '/']);
  expect(await page.evaluate(() => document.cookie)).toBe('');
});

test('sign-out clears the session', async ({ page }) => {
  await page.goto('/');
  await submitSignInForm(page, bootstrapCredentials());
  await expect(page.getByRole('heading', { level: 1, name: 'Workers' })).toBeVisible();

  await page.getByRole('button', { name: 'Sign out' }).click();

  await expect(page).toHaveURL(/\/sign-in\?next=%2F$/);
  expect(await page.context().cookies()).toEqual([]);
  await page.goto('/');
  await expect(page).toHaveURL(/\/sign-in\?/);
});

test('sign-in ignores an outside next', async ({ page }) => {
  await page.goto(`/sign-in?next=${encodeURIComponent('//example.com/')}`);
  await submitSignInForm(page, bootstrapCredentials());

  await expect(page).toHaveURL(/^http:\/\/127\.0\.0\.1:\d+\/$/);
});
