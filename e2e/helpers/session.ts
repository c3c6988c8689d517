import { expect, type Page } from '@playwright/test';

import type { ApiCredentials } from '../../agent/api-client';

/** A cookie as Playwright's storage state stores it. */
export interface StoredCookie {
  name: string;
  value: string;
  domain: string;
  path: string;
  /** Seconds since the epoch. */
  expires: number;
  httpOnly: boolean;
  secure: boolean;
  sameSite: 'Lax';
}

/**
 * Posts the sign-in form as a browser would and returns the session cookie it sets.
 * Throws when the service does not redirect with a cookie.
 */
export async function signIn(baseURL: string, credentials: ApiCredentials): Promise<StoredCookie> {
  const response = await fetch(`${baseURL}/auth/sign-in`, {
    method: 'POST',
    body: new URLSearchParams({ access_key: credentials.accessKey, secret_key: credentials.secretKey, next: '/' }),
    redirect: 'manual',
  });
  const setCookie = response.headers.get('set-cookie') ?? '';
  const match = /^fleet_session=([^;]+);.*Max-Age=(\d+)/.exec(setCookie);
  if (response.status !== 303 || !match) {
    throw new Error(`sign-in returned HTTP ${response.status} without a session cookie (location ${response.headers.get('location')})`);
  }

  return {
    name: 'fleet_session',
    value: match[1],
    domain: new URL(baseURL).hostname,
    path: '/',
    expires: Math.floor(Date.now() / 1000) + Number(match[2]),
    httpOnly: true,
    secure: false,
    sameSite: 'Lax',
  };
}

/** Returns the pair of the second company, `tenant-b`, which global setup creates. */
export function tenantCredentials(): ApiCredentials {
  const { E2E_TENANT_ACCESS_KEY: accessKey, E2E_TENANT_SECRET_KEY: secretKey } = process.env;
  if (!accessKey || !secretKey) throw new Error('E2E_TENANT_ACCESS_KEY is not set: global setup makes it');

  return { accessKey, secretKey };
}

/** Fills and submits the sign-in form; the page must show it already. */
export async function submitSignInForm(page: Page, credentials: ApiCredentials): Promise<void> {
  await expect(page.getByRole('heading', { level: 1, name: 'Sign in' })).toBeVisible();
  await page.getByLabel('Access key').fill(credentials.accessKey);
  await page.getByLabel('Secret key').fill(credentials.secretKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
}
