import { openDatabase, databaseOptionsFromEnv, type DatabaseHandle, type DatabaseOptions } from '@/db/client';

import { authSettingsFromEnv, prepareAuthentication, type AuthSettings } from './auth/bootstrap';
import { logger, type Logger } from './log';

/**
 * Opens the service's database: migrations applied, the default company and user
 * present, and the bootstrap credential ready (see prepareAuthentication).
 */
export async function openServiceDatabase(
  options: DatabaseOptions,
  auth: AuthSettings = authSettingsFromEnv(),
  log: Logger = logger,
): Promise<DatabaseHandle> {
  const handle = await openDatabase(options);
  try {
    await prepareAuthentication(handle.db, auth, log);
  } catch (error) {
    await handle.close();
    throw error;
  }

  return handle;
}

// Next.js bundles route handlers apart from server.ts, so a module-level variable would
// exist once per bundle. The handle lives on globalThis to stay one per process: two
// PGlite instances on one folder would corrupt it.
const GLOBAL_KEY = Symbol.for('fleet-workers.database');
type GlobalWithDatabase = typeof globalThis & { [GLOBAL_KEY]?: Promise<DatabaseHandle> };

/** Returns the process-wide database handle, opening it on first use from the environment. */
export function getServiceDatabase(): Promise<DatabaseHandle> {
  const global = globalThis as GlobalWithDatabase;
  const existing = global[GLOBAL_KEY];
  if (existing) {
    return existing;
  }

  const opening = openServiceDatabase(databaseOptionsFromEnv());
  global[GLOBAL_KEY] = opening;
  // A failed open is not kept, so that the next request tries again.
  opening.catch(() => {
    if (global[GLOBAL_KEY] === opening) {
      delete global[GLOBAL_KEY];
    }
  });

  return opening;
}

/** Closes the process-wide handle, if one was opened. */
export async function closeServiceDatabase(): Promise<void> {
  const global = globalThis as GlobalWithDatabase;
  const opening = global[GLOBAL_KEY];
  delete global[GLOBAL_KEY];
  if (opening) {
    await (await opening).close();
  }
}
