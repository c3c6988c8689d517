import { describe, expect, test } from 'vitest';

import { clearedSessionCookie, isPublicPath, isSameOrigin, localPath, sessionCookie, signInUrl } from './session';

describe('localPath', () => {
  test.each([
    ['/activity?range=6h', '/activity?range=6h'],
    ['//example.com/', '/'],
    ['/\\example.com', '/'],
    ['https://example.com/', '/'],
    ['', '/'],
    [null, '/'],
  ])('maps %j to %j', (value, expected) => {
    expect(localPath(value)).toBe(expected);
  });
});

describe('signInUrl', () => {
  test('keeps the path and the error', () => {
    expect(signInUrl('/workers/view?id=a b', 'invalid')).toBe('/sign-in?next=%2Fworkers%2Fview%3Fid%3Da+b&error=invalid');
  });
});

describe('session cookies', () => {
  test('session cookie attributes', () => {
    expect(sessionCookie('abc', false)).toBe('fleet_session=abc; Path=/; Max-Age=604800; HttpOnly; SameSite=Lax');
    expect(sessionCookie('abc', true)).toBe('fleet_session=abc; Path=/; Max-Age=604800; HttpOnly; SameSite=Lax; Secure');
  });

  test('cleared cookie expires at once', () => {
    expect(clearedSessionCookie(false)).toBe('fleet_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax');
  });
});

describe('isSameOrigin', () => {
  test.each([
    [{ host: 'fleet:3000' }, false, true],
    [{ host: 'fleet:3000', origin: 'http://fleet:3000' }, false, true],
    [{ host: 'fleet:3000', origin: 'https://evil.example' }, false, false],
    [{ host: 'internal:3000', origin: 'https://fleet.example', 'x-forwarded-host': 'fleet.example' }, false, false],
    [{ host: 'internal:3000', origin: 'https://fleet.example', 'x-forwarded-host': 'fleet.example' }, true, true],
    [{ host: 'fleet:3000', origin: 'null' }, false, false],
  ])('headers %j with trust proxy %j is %j', (headers, trustProxy, expected) => {
    expect(isSameOrigin(new Headers(headers), trustProxy)).toBe(expected);
  });
});

describe('isPublicPath', () => {
  test.each([
    ['/sign-in', true],
    ['/auth/sign-out', true],
    ['/_next/static/chunk.js', true],
    ['/api/workers.get_all', true],
    ['/api', true],
    ['/', false],
    ['/activity', false],
    ['/workers/view', false],
    ['/sign-inx', false],
  ])('%s is %j', (path, expected) => {
    expect(isPublicPath(path)).toBe(expected);
  });
});
