import type { Metadata } from 'next';

import { localPath } from '@/lib/auth/session';

export const metadata: Metadata = { title: 'Sign in' };

const ERROR_MESSAGES: Record<string, string> = {
  invalid: 'Invalid access key or secret key. Check the pair, or create one with npm run credentials -- create.',
  unavailable: 'The database cannot be reached. Try again in a moment.',
};

interface SignInPageProps {
  searchParams: Promise<{ next?: string | string[]; error?: string | string[] }>;
}

/** Takes an access key and a secret key; the form posts to /auth/sign-in, which sets the session cookie. */
export default async function SignInPage({ searchParams }: SignInPageProps) {
  const params = await searchParams;
  const next = localPath(typeof params.next === 'string' ? params.next : undefined);
  const error = typeof params.error === 'string' ? ERROR_MESSAGES[params.error] : undefined;

  return (
    <section className="sign-in">
      <h1>Sign in</h1>
      <p className="sign-in-hint">Use an API credential: the pair the service printed at its first start, or one from <code>npm run credentials -- create</code>.</p>
      {error && (
        <p role="alert" className="banner banner-error">
          {error}
        </p>
      )}
      <form method="post" action="/auth/sign-in" className="sign-in-form">
        <input type="hidden" name="next" value={next} />
        <label htmlFor="access_key">Access key</label>
        <input id="access_key" name="access_key" type="text" className="input" autoComplete="username" required spellCheck={false} />
        <label htmlFor="secret_key">Secret key</label>
        <input id="secret_key" name="secret_key" type="password" className="input" autoComplete="current-password" required />
        <button type="submit" className="button">
          Sign in
        </button>
      </form>
    </section>
  );
}
