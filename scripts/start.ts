import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * `npm start`: builds the Next.js app when its sources changed since the last build,
 * then starts the service. The build is keyed on a hash of every source file that
 * goes into it, stored beside the build output.
 */

const ROOT = process.cwd();
const BUILD_INPUTS = ['app', 'components', 'lib', 'db', 'public', 'proxy.ts', 'next.config.js', 'tsconfig.json', 'package-lock.json'];
const HASH_FILE = path.join(ROOT, '.next', 'fleet-source-hash');

function addToHash(hash: ReturnType<typeof createHash>, target: string): void {
  if (!existsSync(target)) {
    return;
  }
  if (statSync(target).isDirectory()) {
    for (const entry of readdirSync(target).sort()) {
      addToHash(hash, path.join(target, entry));
    }
    return;
  }

  hash.update(path.relative(ROOT, target));
  hash.update(readFileSync(target));
}

function sourceHash(): string {
  const hash = createHash('sha256');
  for (const input of BUILD_INPUTS) {
    addToHash(hash, path.join(ROOT, input));
  }

  return hash.digest('hex');
}

const expected = sourceHash();
const built = existsSync(path.join(ROOT, '.next', 'BUILD_ID')) && existsSync(HASH_FILE)
  ? readFileSync(HASH_FILE, 'utf8').trim()
  : '';

if (built !== expected) {
  console.error(JSON.stringify({ level: 30, msg: 'building the dashboard (sources changed since the last build)' }));
  const result = spawnSync(process.execPath, [require.resolve('next/dist/bin/next'), 'build'], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, NODE_ENV: 'production', NEXT_TELEMETRY_DISABLED: '1' },
  });
  if (result.status !== 0) {
    console.error(JSON.stringify({ level: 50, msg: 'next build failed', status: result.status }));
    process.exit(result.status ?? 1);
  }
  writeFileSync(HASH_FILE, `${expected}\n`);
}

(process.env as Record<string, string>).NODE_ENV = 'production';
require('../server');
