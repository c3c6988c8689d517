import type { Metadata } from 'next';
import { connection } from 'next/server';
import type { ReactNode } from 'react';

import { SiteNav } from '@/components/site-nav';

import './globals.css';
import { Providers } from './providers';

export const metadata: Metadata = {
  title: { default: 'Fleet monitor', template: '%s · Fleet monitor' },
  description: 'Live workers, machine stats and fleet activity of ClearML worker daemons',
  icons: { icon: '/favicon.svg' },
};

export default async function RootLayout({ children }: { children: ReactNode }) {
  // Every page is rendered per request, because its script tags carry the nonce of the
  // request's Content Security Policy (see proxy.ts).
  await connection();

  return (
    <html lang="en">
      <body>
        <Providers>
          <SiteNav />
          <main className="page">{children}</main>
        </Providers>
      </body>
    </html>
  );
}
