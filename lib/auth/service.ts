import { Authenticator } from './authenticator';
import { authSettingsFromEnv } from './bootstrap';

// Next.js bundles route handlers apart from server.ts, so the authenticator lives on
// globalThis, like the database handle: one cache of verified credentials per process.
const GLOBAL_KEY = Symbol.for('fleet-workers.authenticator');
type GlobalWithAuthenticator = typeof globalThis & { [GLOBAL_KEY]?: Authenticator };

/** Returns the process-wide authenticator, configured from the environment. */
export function getServiceAuthenticator(): Authenticator {
  const global = globalThis as GlobalWithAuthenticator;
  global[GLOBAL_KEY] ??= new Authenticator({ jwtSecret: authSettingsFromEnv().jwtSecret });

  return global[GLOBAL_KEY];
}
