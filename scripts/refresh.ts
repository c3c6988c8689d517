import { databaseOptionsFromEnv } from '@/db/client';
import { openServiceDatabase } from '@/lib/database';
import { logger } from '@/lib/log';
import { applyRetention, jobSettingsFromEnv, updateRollupsUntilDone } from '@/lib/stats/jobs';

/**
 * `npm run refresh`: refreshes the rollups and applies retention once, on the database the
 * service uses (DATABASE_URL, else the PGlite folder WORKERS_DATA_DIR). An embedded
 * database admits one process, so stop the service first in that case.
 */
async function main(): Promise<void> {
  const settings = jobSettingsFromEnv();
  const handle = await openServiceDatabase(databaseOptionsFromEnv());
  try {
    const started = performance.now();
    const refresh = await updateRollupsUntilDone(handle.db);
    const retention = await applyRetention(handle.db, new Date(), settings);
    logger.info(
      { refresh, retention, duration_ms: Math.round(performance.now() - started) },
      'rollups refreshed and retention applied',
    );
  } finally {
    await handle.close();
  }
}

main().catch((error: unknown) => {
  logger.fatal({ err: error }, 'refresh failed');
  process.exit(1);
});
