'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';

const NAV_LINKS = [
  { href: '/', label: 'Workers', isCurrent: (path: string) => path === '/' || path.startsWith('/workers') },
  { href: '/queues', label: 'Queues', isCurrent: (path: string) => path.startsWith('/queues') },
  { href: '/activity', label: 'Fleet activity', isCurrent: (path: string) => path.startsWith('/activity') },
];

export function SiteNav() {
  const pathname = usePathname();

  return (
    <header className="site-header">
      <div className="site-header-inner">
        <Link href="/" className="brand">
          <span className="brand-mark" aria-hidden="true" />
          Fleet monitor
        </Link>
        <nav aria-label="Main">
          <ul className="nav-list">
            {NAV_LINKS.map((link) => (
              <li key={link.href}>
                <Link
                  href={link.href}
                  className="nav-link"
                  aria-current={link.isCurrent(pathname) ? 'page' : undefined}
                >
                  {link.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        {pathname !== '/sign-in' && (
          <form method="post" action="/auth/sign-out" className="sign-out">
            <button type="submit" className="button button-small">
              Sign out
            </button>
          </form>
        )}
      </div>
    </header>
  );
}
