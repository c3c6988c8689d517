import { NextResponse, type NextRequest } from 'next/server';

import { pageContentSecurityPolicy } from '@/lib/security-headers';

/**
 * Sets a Content Security Policy with a fresh nonce on every page request. Next.js reads
 * the nonce from the request's policy header while it renders and puts it on its script
 * tags, which is why the root layout renders every page per request.
 */
export function proxy(request: NextRequest): NextResponse {
  const nonce = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64');
  const policy = pageContentSecurityPolicy(nonce, process.env.NODE_ENV === 'development');

  const requestHeaders = new Headers(request.headers);
  requestHeaders.set('content-security-policy', policy);
  const response = NextResponse.next({ request: { headers: requestHeaders } });
  response.headers.set('content-security-policy', policy);

  return response;
}

export const config = {
  // Pages only: the API sets its own policy, and static files and prefetches need none.
  matcher: [
    {
      source: '/((?!api/|_next/static|_next/image|favicon).*)',
      missing: [
        { type: 'header', key: 'next-router-prefetch' },
        { type: 'header', key: 'purpose', value: 'prefetch' },
      ],
    },
  ],
};
