import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterEach, describe, expect, test } from 'vitest';

import { listWorkers } from '@/db/workers';
import { DEFAULT_COMPANY, DEFAULT_USER } from '@/lib/identity';
import { openServiceDatabase } from '@/lib/database';
import { getStats } from '@/lib/stats/service';
import { register, statusReport } from '@/lib/workers/service';
import type { CallContext } from '@/lib/api/endpoint';
import { logger } from '@/lib/log';

const NOW = new Date('2026-01-01T00:00:00.000Z');

describe('PGlite data directory', () => {
  const folders: string[] = [];

  afterEach(() => {
    for (const folder of folders.splice(0)) {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  test('reopen keeps workers and samples', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'fleet-persistence-'));
    folders.push(root);
    // The folder's parents do not exist yet: opening must create them.
    const dataDir = path.join(root, 'nested', 'data');

    const first = await openServiceDatabase({ kind: 'pglite', dataDir });
    const context: CallContext = {
      db: first.db,
      companyId: DEFAULT_COMPANY.id,
      userId: DEFAULT_USER.id,
      now: NOW,
      clientIp: '10.1.2.3',
      requestId: 'test',
      log: logger,
    };
    await register(context, { worker: 'gpu-box-07:gpu0,1', timeout: 3600 });
    await statusReport(context, {
      worker: 'gpu-box-07:gpu0,1',
      timestamp: NOW.getTime(),
      machine_stats: { cpu_usage: [12.5, 37.5] },
    });
    await first.close();

    const second = await openServiceDatabase({ kind: 'pglite', dataDir });
    try {
      const workers = await listWorkers(second.db, { companyId: DEFAULT_COMPANY.id, now: NOW });
      expect(workers.map((worker) => worker.workerId)).toEqual(['gpu-box-07:gpu0,1']);
      expect(workers[0].ip).toBe('10.1.2.3');

      const stats = await getStats(
        { ...context, db: second.db },
        { from_date: NOW.getTime() / 1000 - 60, to_date: NOW.getTime() / 1000, interval: 60, items: [{ key: 'cpu_usage' }] },
      );
      expect(stats.workers).toEqual([
        {
          worker: 'gpu-box-07:gpu0,1',
          metrics: [{ metric: 'cpu_usage', dates: [NOW.getTime() / 1000], stats: [{ aggregation: 'avg', dates: [NOW.getTime() / 1000], values: [25] }] }],
        },
      ]);
    } finally {
      await second.close();
    }
  });
});
