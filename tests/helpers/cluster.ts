import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Folder of Debian's PostgreSQL 15 programs (initdb, pg_ctl). */
const POSTGRES_BIN = process.env.POSTGRES_BIN ?? '/usr/lib/postgresql/15/bin';

/** The user the server runs as when this process is root: PostgreSQL refuses to run as root. */
const SERVER_USER = 'postgres';

/** A PostgreSQL server of its own on 127.0.0.1, in a temporary folder, that a test may stop and start. */
export interface TemporaryCluster {
  /** Superuser URL of the `postgres` database, for example postgres://postgres@127.0.0.1:45123/postgres. */
  url: string;
  port: number;
  /** Stops the server with `pg_ctl stop -m fast`: sessions are ended, nothing is lost. */
  stop(): Promise<void>;
  /** Starts the server again on the same port and data, and waits until it accepts connections. */
  start(): Promise<void>;
  /** Stops the server if it runs and deletes its folder. */
  remove(): Promise<void>;
}

/** Returns a port on 127.0.0.1 that nothing listens on right now. */
async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** The command and arguments that run a PostgreSQL program as the server's user. */
function asServerUser(program: string, args: string[]): [string, string[]] {
  const binary = path.join(POSTGRES_BIN, program);
  if (process.getuid?.() === 0) {
    return ['runuser', ['-u', SERVER_USER, '--', binary, ...args]];
  }

  return [binary, args];
}

async function runAsServerUser(program: string, args: string[]): Promise<void> {
  const [command, commandArgs] = asServerUser(program, args);
  await run(command, commandArgs, { timeout: 60_000 });
}

/**
 * Creates a PostgreSQL cluster in a new temporary folder with initdb (trust
 * authentication, no fsync, so it is fast and holds only test data) and starts it on a
 * free port of 127.0.0.1. The caller must call `remove`. A process that exits without it
 * still stops the server, so no postmaster outlives the test run.
 */
export async function startTemporaryCluster(): Promise<TemporaryCluster> {
  if (!existsSync(path.join(POSTGRES_BIN, 'initdb'))) {
    throw new Error(`initdb not found in ${POSTGRES_BIN}: install postgresql-15 or set POSTGRES_BIN to the folder of initdb and pg_ctl`);
  }

  const folder = mkdtempSync(path.join(os.tmpdir(), 'fleet-cluster-'));
  const dataDir = path.join(folder, 'data');
  const logFile = path.join(folder, 'server.log');
  if (process.getuid?.() === 0) {
    const { uid, gid } = userIds(SERVER_USER);
    chownSync(folder, uid, gid);
  }

  const port = await findFreePort();
  const serverOptions = `-c listen_addresses=127.0.0.1 -p ${port} -k ${folder} -c fsync=off -c full_page_writes=off`;
  let running = false;

  const stopNow = () => {
    if (!running) {
      return;
    }
    const [command, args] = asServerUser('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
    try {
      execFileSync(command, args, { stdio: 'ignore', timeout: 30_000 });
    } catch {
      // The server was already down.
    }
    running = false;
  };
  process.once('exit', stopNow);

  const start = async () => {
    await runAsServerUser('pg_ctl', ['-D', dataDir, '-l', logFile, '-o', serverOptions, '-w', '-t', '60', 'start']);
    running = true;
  };

  try {
    await runAsServerUser('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
    await start();
  } catch (error) {
    stopNow();
    rmSync(folder, { recursive: true, force: true });
    throw error;
  }

  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start,
    stop: async () => {
      await runAsServerUser('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop']);
      running = false;
    },
    remove: async () => {
      stopNow();
      process.removeListener('exit', stopNow);
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

function userIds(name: string): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());

  return { uid, gid };
}
