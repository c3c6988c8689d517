import os from 'node:os';

import { afterEach, describe, expect, it, vi } from 'vitest';

import { ApiClient } from '../../agent/api-client';
import { parseDaemonArgs } from '../../agent/options';
import { startTestServer, type TestServer } from '../helpers/server';
import { parseLogLines, runScript, type RunningScript } from './process';

const WAIT = { timeout: 20_000, interval: 50 };

let server: TestServer | undefined;
let daemon: RunningScript | undefined;

afterEach(async () => {
  await daemon?.kill();
  daemon = undefined;
  await server?.close();
  server = undefined;
});

interface ListedWorker {
  id: string;
  last_report_time?: string;
}

async function listWorkers(url: string): Promise<ListedWorker[]> {
  const data = (await new ApiClient({ server: url }).call('workers.get_all', {})) as { workers: ListedWorker[] };

  return data.workers;
}

describe('agent CLI', () => {
  it('unregisters and exits 0 on SIGTERM', async () => {
    server = await startTestServer();
    const { id: queueId } = (await new ApiClient({ server: server.url }).call('queues.create', { name: 'q1' })) as { id: string };
    daemon = runScript('agent/cli.ts', ['--server', server.url, '--worker', 'cli-box:cpu', '--queue', queueId, '--period', '0.2']);
    const url = server.url;

    await vi.waitFor(async () => {
      const [worker] = await listWorkers(url);
      expect(worker?.last_report_time).toBeTypeOf('string');
    }, WAIT);
    daemon.child.kill('SIGTERM');

    expect(await daemon.exited).toBe(0);
    expect(await listWorkers(url)).toEqual([]);
    const logs = parseLogLines(daemon.stdoutLines);
    expect(logs.map((line) => line.msg).slice(-3)).toEqual(['signal received, unregistering', 'unregistered', 'stop']);
    expect(logs.every((line) => line.worker === 'cli-box:cpu')).toBe(true);
  });

  it('unregisters and exits 0 on SIGINT', async () => {
    server = await startTestServer();
    daemon = runScript('agent/cli.ts', ['--server', server.url, '--worker', 'cli-box:cpu', '--period', '0.2']);
    const url = server.url;

    await vi.waitFor(async () => expect(await listWorkers(url)).toHaveLength(1), WAIT);
    daemon.child.kill('SIGINT');

    expect(await daemon.exited).toBe(0);
    expect(await listWorkers(url)).toEqual([]);
  });

  it('prints usage for --help', async () => {
    daemon = runScript('agent/cli.ts', ['--help']);

    expect(await daemon.exited).toBe(0);
    const usage = daemon.stdoutLines.join('\n');
    expect(usage).toContain('Usage: npm run agent -- [options]');
    expect(usage).toContain('--period <seconds>   interval between status reports, in seconds (default 10,');
  });

  it('exits 2 on invalid option', async () => {
    daemon = runScript('agent/cli.ts', ['--period', 'soon']);

    expect(await daemon.exited).toBe(2);
    expect(daemon.stderr()).toBe('invalid --period "soon": expected seconds, at least 0.1\nRun with --help for usage.\n');
  });
});

describe('parseDaemonArgs', () => {
  const ENV_PAIR = { WORKERS_ACCESS_KEY: 'ENVKEY', WORKERS_SECRET_KEY: 'env-secret' };

  it('applies the defaults', () => {
    expect(parseDaemonArgs([], ENV_PAIR)).toEqual({
      server: 'http://127.0.0.1:3000',
      worker: `${os.hostname()}:cpu`,
      queues: [],
      periodSeconds: 10,
      timeoutSeconds: 600,
      credentials: { accessKey: 'ENVKEY', secretKey: 'env-secret' },
    });
  });

  it('prefers credential options to env', () => {
    const settings = parseDaemonArgs(['--access-key', 'OPTKEY', '--secret-key', 'opt-secret'], ENV_PAIR);

    expect(settings).toMatchObject({ credentials: { accessKey: 'OPTKEY', secretKey: 'opt-secret' } });
  });

  it('reads the clearml-agent env pair', () => {
    const settings = parseDaemonArgs([], { CLEARML_API_ACCESS_KEY: 'CLEARMLKEY', CLEARML_API_SECRET_KEY: 'clearml-secret' });

    expect(settings).toMatchObject({ credentials: { accessKey: 'CLEARMLKEY', secretKey: 'clearml-secret' } });
  });

  it.each([
    [[], {}, 'missing credentials: pass --access-key and --secret-key, or set WORKERS_ACCESS_KEY and WORKERS_SECRET_KEY'],
    [['--access-key', 'ONLYKEY'], {}, '--access-key and --secret-key must be given together'],
  ])('rejects credentials %j with env %j', (args, env, message) => {
    expect(() => parseDaemonArgs(args, env)).toThrow(message);
  });

  it('collects repeated queues', () => {
    expect(parseDaemonArgs(['--queue', 'a', '--queue', 'b', '--worker', 'box:gpu0,1'])).toMatchObject({
      worker: 'box:gpu0,1',
      queues: ['a', 'b'],
    });
  });

  it('scales default timeout with period', () => {
    expect(parseDaemonArgs(['--period', '300'])).toMatchObject({ periodSeconds: 300, timeoutSeconds: 900 });
  });

  it.each([
    [['--server', 'not a url'], 'invalid --server "not a url": expected an http or https URL'],
    [['--worker', ''], 'invalid --worker "": must be a non-empty string'],
    [['--worker', 'tab\there'], 'invalid --worker "tab\\there": must not contain control characters'],
    [['--period', '0.01'], 'invalid --period "0.01": expected seconds, at least 0.1'],
    [['--period', '10', '--timeout', '10'], 'invalid --timeout "10": expected a whole number of seconds above the period (10 s)'],
    [['--timeout', '60.5'], 'invalid --timeout "60.5": expected a whole number of seconds above the period (10 s)'],
  ])('rejects %j', (args, message) => {
    expect(() => parseDaemonArgs(args)).toThrow(message);
  });

  it('rejects an unknown option', () => {
    expect(() => parseDaemonArgs(['--interval', '5'])).toThrow("Unknown option '--interval'");
  });
});
