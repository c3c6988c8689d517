import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

import postgres from 'postgres';
import { expect } from 'vitest';

import { callApi } from '../helpers/api';

const ROOT = path.resolve(__dirname, '..', '..');
const SCRIPT = path.join('tests', 'multi-instance', 'api-server.ts');

/** Milliseconds an instance may take from spawn to listening, migrations included. */
const START_TIMEOUT_MS = 30_000;

/** Milliseconds an instance gets to stop after SIGTERM before it is killed. */
const STOP_TIMEOUT_MS = 5_000;

/** One API server process of tests/multi-instance/api-server.ts. */
export interface Instance {
  name: string;
  child: ChildProcess;
  /** Resolves with the base URL once the server listens, and rejects when it exits first. */
  ready: Promise<string>;
  /** The JSON log lines written so far, parsed. */
  logs: Record<string, unknown>[];
  /** Stdout lines that are not JSON and all of stderr, for failure messages. */
  otherOutput(): string;
  /** Stops the process (SIGTERM, then SIGKILL after 5 s) and waits for its exit. */
  stop(): Promise<void>;
}

export interface InstanceOptions {
  /** An ISO 8601 time at which the API's clock stays fixed; unset: the real clock. */
  now?: string;
  /** Runs the rollup refresh and the retention in the process, as the service does. */
  backgroundJobs?: boolean;
  /** Environment variables set on top of the test process's, for example job settings. */
  env?: Record<string, string>;
}

/**
 * Spawns one API server with `node --import tsx` against `databaseUrl`. Stdin stays
 * open as a pipe, and the server exits when it ends, so that the process ends with the
 * test process even when no teardown runs.
 */
export function startInstance(name: string, databaseUrl: string, options: InstanceOptions = {}): Instance {
  const args = ['--import', 'tsx', SCRIPT, '--exit-with-stdin', ...(options.backgroundJobs ? ['--background-jobs'] : [])];
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: databaseUrl, PORT: '0', LOG_LEVEL: 'info', ...options.env };
  if (options.now === undefined) {
    delete env.API_SERVER_NOW;
  } else {
    env.API_SERVER_NOW = options.now;
  }
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env });

  const logs: Record<string, unknown>[] = [];
  let other = '';
  let pending = '';
  let resolveReady: (url: string) => void = () => {};
  let rejectReady: (error: Error) => void = () => {};
  const ready = new Promise<string>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  // A rejection that no caller awaits yet must not count as unhandled.
  ready.catch(() => {});

  // The messages of the error and fatal log lines, without stacks, and any other output.
  const describeOutput = () => {
    const errors = logs
      .filter((line) => typeof line.level === 'number' && line.level >= 50)
      .map((line) => `${String(line.msg)}: ${String((line.err as { message?: unknown } | undefined)?.message ?? '')}`);

    return [...errors, other.slice(-2000)].filter((text) => text !== '').join('\n');
  };

  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines.filter((text) => text.trim() !== '')) {
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        other += `${line}\n`;
        continue;
      }

      logs.push(parsed);
      if (parsed.msg === 'api server listening' && typeof parsed.port === 'number') {
        resolveReady(`http://127.0.0.1:${parsed.port}`);
      }
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    other += chunk;
  });

  const exited = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => {
      rejectReady(new Error(`instance ${name} exited (${code ?? signal}) before listening: ${describeOutput()}`));
      resolve();
    });
  });

  const timer = setTimeout(() => {
    rejectReady(new Error(`instance ${name} did not listen within ${START_TIMEOUT_MS} ms: ${describeOutput()}`));
  }, START_TIMEOUT_MS);
  void ready.finally(() => clearTimeout(timer)).catch(() => {});

  return {
    name,
    child,
    ready,
    logs,
    otherOutput: () => other,
    stop: async () => {
      clearTimeout(timer);
      if (child.exitCode !== null || child.signalCode !== null) {
        return;
      }

      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(killer);
    },
  };
}

/**
 * Waits until every instance listens and resolves with their base URLs, in the order
 * given. Raises one error listing every instance that exited or timed out first.
 */
export async function allListening(instances: readonly Instance[]): Promise<string[]> {
  const started = await Promise.allSettled(instances.map((instance) => instance.ready));
  const failures = started.flatMap((result) => (result.status === 'rejected' ? [String(result.reason)] : []));
  if (failures.length > 0) {
    throw new Error(`instances failed to start together on one database:\n${failures.join('\n')}`);
  }

  return started.map((result) => (result.status === 'fulfilled' ? result.value : ''));
}

/** A database of its own on the test PostgreSQL server, for the instances of one test file. */
export interface SharedDatabase {
  url: string;
  /** Drops the database, ending the connections still open to it. */
  drop(): Promise<void>;
}

/** Creates an empty database named `name` on the server of `adminUrl`. */
export async function createSharedDatabase(adminUrl: string, name: string): Promise<SharedDatabase> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE "${name}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;

  return {
    url: url.toString(),
    drop: async () => {
      await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    },
  };
}

/**
 * Sends the same API call to every instance at once, checks that each returned 200 with
 * data equal to the first's, and returns that data. `names` label the instances in
 * failure messages.
 */
export async function readFromEach(urls: readonly string[], names: readonly string[], endpoint: string, body: unknown): Promise<unknown> {
  const results = await Promise.all(urls.map((url) => callApi(url, endpoint, body)));
  results.forEach((result, index) => {
    expect(
      { status: result.status, subcode: result.meta.result_subcode },
      `${endpoint} on instance ${names[index]} returned ${result.status}: ${result.meta.result_msg}`,
    ).toEqual({ status: 200, subcode: 0 });
  });
  for (const [index, result] of results.entries()) {
    expect(result.data, `${endpoint} ${JSON.stringify(body)}: instance ${names[index]} differs from instance ${names[0]}`).toEqual(
      results[0].data,
    );
  }

  return results[0].data;
}
