import type { Metadata } from 'next';
import type { ReactNode } from 'react';

import { SiteNav } from '@/components/site-nav';

import './globals.css';
import { Providers } from './providers';

export const metadata: Metadata = {
  title: { default: 'Fleet monitor', template: '%s · Fleet monitor' },
  description: 'Live workers, machine stats and fleet activity of ClearML worker daemons',
  icons: { icon: '/favicon.svg' },
};

export default function RootLayout({ children }: { children: ReactNode }) {
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
