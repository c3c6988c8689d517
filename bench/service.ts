import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';

import { basicAuthorization, type ApiCredentials } from '../agent/api-client';

import { progress } from './measure';

/** Ports the benchmark may serve on. The first free one is taken. */
const PORT_RANGE = { first: 3700, last: 3799 };
/** The start includes a production build when the sources changed, which takes minutes on 2 cores. */
const STARTUP_TIMEOUT_MS = 15 * 60 * 1000;
const READY_POLL_MS = 250;
/** Time the service gets to stop after SIGTERM before its process group is killed. */
const STOP_TIMEOUT_MS = 20_000;

export interface RunningService {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  logPath: string;
  /** CPU seconds (user and system) the service process has used so far, or null where /proc is missing. */
  cpuSeconds(): number | null;
  /**
   * Raises an error when the service process has exited. After a load run this shows
   * that its responses came from this service and not from another process that took
   * the port when this one failed to listen.
   */
  ensureRunning(): void;
  stop(): Promise<void>;
}

// NOTE: the kernel's clock tick is assumed to be 100 per second, the Linux default;
// Node.js cannot read sysconf(_SC_CLK_TCK).
const CLOCK_TICKS_PER_SECOND = 100;

/** Reads the user and system CPU time of a process from /proc/<pid>/stat, in seconds. */
function processCpuSeconds(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }

  // The fields after the command name in brackets: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');

  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

async function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/**
 * Returns a free port of the range, trying them from an offset taken from this process's
 * id, so that benchmarks started together rarely pick the same port.
 */
async function findFreePort(): Promise<number> {
  const size = PORT_RANGE.last - PORT_RANGE.first + 1;
  for (let step = 0; step < size; step++) {
    const port = PORT_RANGE.first + ((process.pid + step) % size);
    if (await isPortFree(port)) {
      return port;
    }
  }

  throw new Error(`no free port from ${PORT_RANGE.first} to ${PORT_RANGE.last} on 127.0.0.1: stop a process listening there and run again`);
}

/** Sends GET to a URL on 127.0.0.1 and resolves with the status, or 0 when the connection fails. */
function probeStatus(url: string, authorization: string): Promise<number> {
  return new Promise((resolve) => {
    const request = http.get(url, { timeout: 5_000, headers: { authorization } }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(0));
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve();
      return;
    }
    child.once('exit', () => resolve());
  });
}

/**
 * Starts the real service as `npm start` does (scripts/start.ts: a production build when
 * the sources changed, then server.ts) on 127.0.0.1 and a free port from 3700 to 3799,
 * with the benchmark routes on and `credentials` as its bootstrap pair, and waits until
 * its API responds. The service runs in a
 * process group of its own, which `stop` ends. Its log goes to `logDir/service.log`.
 */
export async function startService(databaseUrl: string, logDir: string, credentials: ApiCredentials): Promise<RunningService> {
  const port = await findFreePort();
  const root = path.resolve(__dirname, '..');
  const logPath = path.join(logDir, 'service.log');
  const logFd = openSync(logPath, 'a');

  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    cwd: root,
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      WORKERS_BENCH_ROUTES: '1',
      WORKERS_ACCESS_KEY: credentials.accessKey,
      WORKERS_SECRET_KEY: credentials.secretKey,
      NEXT_TELEMETRY_DISABLED: '1',
    },
    stdio: ['ignore', logFd, logFd],
    detached: true,
  });
  closeSync(logFd);
  const pid = child.pid;
  if (pid === undefined) {
    throw new Error('the service process failed to start');
  }
  const childExited = exited(child);

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) {
      return;
    }
    process.kill(-pid, 'SIGTERM');
    const timer = setTimeout(() => {
      progress('service did not stop after SIGTERM, killing its process group', { pid, timeout_ms: STOP_TIMEOUT_MS });
      process.kill(-pid, 'SIGKILL');
    }, STOP_TIMEOUT_MS);
    await childExited;
    clearTimeout(timer);
  };

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  progress('starting the service (it builds first when its sources changed)', { port, pid, log: logPath });
  // The build can take minutes, and another process may take the port meanwhile: then
  // the probe would reach that process. The service's own log line proves it listens.
  const listening = () => readFileSync(logPath, 'utf8').includes('"msg":"service listening"');
  while (!listening() || (await probeStatus(`${url}/api/workers.get_count`, basicAuthorization(credentials))) !== 200) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the service exited with code ${child.exitCode} (signal ${child.signalCode}) before responding: see ${logPath}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the service did not respond within ${STARTUP_TIMEOUT_MS / 1000} s: see ${logPath}`);
    }
    await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
  }
  progress('service ready', { url });

  const ensureRunning = () => {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `the service exited with code ${child.exitCode} (signal ${child.signalCode}) while the benchmark used port ${port}, so another process served the requests: see ${logPath}`,
      );
    }
  };

  return { url, port, logPath, cpuSeconds: () => processCpuSeconds(pid), ensureRunning, stop };
}
