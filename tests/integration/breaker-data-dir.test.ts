import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterEach, describe, expect, test } from 'vitest';

import { listWorkers } from '@/db/workers';
import type { CallContext } from '@/lib/api/endpoint';
import { openServiceDatabase } from '@/lib/database';
import { DEFAULT_COMPANY, DEFAULT_USER } from '@/lib/identity';
import { logger } from '@/lib/log';
import { register } from '@/lib/workers/service';

const REPOSITORY_ROOT = path.resolve(__dirname, '..', '..');
const NOW = new Date('2026-01-01T00:00:00.000Z');

function contextFor(db: CallContext['db']): CallContext {
  return {
    db,
    companyId: DEFAULT_COMPANY.id,
    userId: DEFAULT_USER.id,
    now: NOW,
    clientIp: '127.0.0.1',
    requestId: 'breaker',
    log: logger,
  };
}

/**
 * Source of a second service process: it opens the data folder the way the service does,
 * registers `second-opener` and prints its outcome as one JSON line. It closes the
 * database when a line arrives on stdin, so that both processes hold the folder at once.
 */
function secondOpenerSource(dataDir: string): string {
  const lib = (file: string) => JSON.stringify(path.join(REPOSITORY_ROOT, file));

  return `
    import { openServiceDatabase } from ${lib('lib/database.ts')};
    import { register } from ${lib('lib/workers/service.ts')};
    import { DEFAULT_COMPANY, DEFAULT_USER } from ${lib('lib/identity.ts')};
    import { logger } from ${lib('lib/log.ts')};

    const outcome = { opened: false, acknowledged: false, error: null };
    try {
      const handle = await openServiceDatabase({ kind: 'pglite', dataDir: ${JSON.stringify(dataDir)} });
      outcome.opened = true;
      await register(
        { db: handle.db, companyId: DEFAULT_COMPANY.id, userId: DEFAULT_USER.id, now: new Date(${NOW.getTime()}), clientIp: '127.0.0.1', requestId: 'second', log: logger },
        { worker: 'second-opener', timeout: 3600 },
      );
      outcome.acknowledged = true;
      console.log('OUTCOME ' + JSON.stringify(outcome));
      await new Promise((resolve) => process.stdin.once('data', resolve));
      await handle.close();
    } catch (error) {
      outcome.error = String(error);
      console.log('OUTCOME ' + JSON.stringify(outcome));
    }
    process.exit(0);
  `;
}

interface SecondOpener {
  outcome: { opened: boolean; acknowledged: boolean; error: string | null };
  /** Makes the process close the database and exit; resolves once it has exited. */
  close(): Promise<void>;
}

/** Second-opener processes still running; afterEach kills them when a test failed midway. */
const children = new Set<ChildProcess>();

/** Starts the second opener in its own Node process and waits for its outcome line. */
async function startSecondOpener(folder: string, dataDir: string): Promise<SecondOpener> {
  const script = path.join(folder, 'second-opener.mts');
  writeFileSync(script, secondOpenerSource(dataDir));

  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: REPOSITORY_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  void exited.then(() => children.delete(child));
  let output = '';
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const line = await new Promise<string | undefined>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      resolve(output.split('\n').find((text) => text.startsWith('OUTCOME ')));
    });
    void exited.then(() => resolve(output.split('\n').find((text) => text.startsWith('OUTCOME '))));
  });
  if (!line) {
    child.kill('SIGKILL');
    throw new Error(`the second opener printed no outcome:\n${output.slice(-2000)}`);
  }

  return {
    outcome: JSON.parse(line.slice('OUTCOME '.length)),
    close: async () => {
      // A child that could not open the folder exits right after its outcome line, so its
      // stdin may be closed before this write: the EPIPE that follows is expected.
      child.stdin.on('error', () => {});
      child.stdin.end('close\n');
      await exited;
    },
  };
}

// The README documents one process per data folder, but nothing enforces it. A second
// service started on the same folder by mistake (a restart script, a second terminal)
// must either be rejected or keep every write it acknowledged.
describe('two services on one PGlite data folder', () => {
  const folders: string[] = [];

  afterEach(() => {
    for (const child of children) {
      child.kill('SIGKILL');
    }
    for (const folder of folders.splice(0)) {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  test('second opener loses no acknowledged write', { timeout: 120_000 }, async () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'breaker-data-dir-'));
    folders.push(folder);
    const dataDir = path.join(folder, 'data');

    const first = await openServiceDatabase({ kind: 'pglite', dataDir });
    const second = await startSecondOpener(folder, dataDir);
    await register(contextFor(first.db), { worker: 'first-opener', timeout: 3600 });
    await second.close();
    await first.close();

    const reopened = await openServiceDatabase({ kind: 'pglite', dataDir });
    try {
      const ids = (await listWorkers(reopened.db, { companyId: DEFAULT_COMPANY.id, now: NOW })).map((row) => row.workerId);

      const acknowledged = ['first-opener', ...(second.outcome.acknowledged ? ['second-opener'] : [])].sort();
      expect(ids.sort(), `second opener: ${JSON.stringify(second.outcome)}`).toEqual(acknowledged);
    } finally {
      await reopened.close();
    }
  });
});
