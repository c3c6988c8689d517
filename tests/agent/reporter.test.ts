import { afterEach, describe, expect, it, vi } from 'vitest';

import { ApiClient } from '../../agent/api-client';
import { Reporter, type ReportContent, type ReporterOptions } from '../../agent/reporter';
import { startTestServer, type TestServer } from '../helpers/server';
import {
  captureLogger,
  envelope,
  findFreePort,
  startEnvelopeServer,
  startFaultProxy,
  type EnvelopeServer,
  type FaultProxy,
  type LogLine,
} from './helpers';

const WORKER = 'test-box:gpu0,1';
const PERIOD_MS = 200;
const BACKOFF = { initialDelayMs: 20, maxDelayMs: 160, multiplier: 2 };
const WAIT = { timeout: 15_000, interval: 20 };

/** Things each test starts; afterEach stops them in reverse order. */
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    await cleanup();
  }
});

/** Creates a report source that records the timestamp of every report it builds. */
function recordingSource(): { read(timestampMs: number): Promise<ReportContent>; timestamps: number[] } {
  const timestamps: number[] = [];

  return {
    timestamps,
    async read(timestampMs: number) {
      timestamps.push(timestampMs);
      return { machine_stats: { memory_used: 1024, cpu_usage: [10, 20] } };
    },
  };
}

function startReporter(server: string, overrides: Partial<ReporterOptions> = {}) {
  const { logger, lines } = captureLogger();
  const source = recordingSource();
  const reporter = new Reporter({
    client: new ApiClient({ server, timeoutMs: 2_000 }),
    worker: WORKER,
    source,
    logger,
    periodMs: PERIOD_MS,
    registrationTimeoutSeconds: 60,
    firstReportDelayMs: 0,
    backoff: BACKOFF,
    unregisterTimeoutMs: 1_000,
    ...overrides,
  });
  reporter.start();
  cleanups.push(() => reporter.stop());

  return { reporter, lines, source };
}

async function startServer(port?: number): Promise<TestServer> {
  const server = await startTestServer(port === undefined ? {} : { port });
  let closed = false;
  cleanups.push(async () => {
    if (!closed) {
      await server.close();
    }
  });

  return {
    ...server,
    close: async () => {
      closed = true;
      await server.close();
    },
  };
}

interface ListedWorker {
  id: string;
  queues: { id: string }[];
  last_report_time?: string;
}

async function listWorkers(server: TestServer): Promise<ListedWorker[]> {
  const data = (await new ApiClient({ server: server.url }).call('workers.get_all', {})) as { workers: ListedWorker[] };

  return data.workers;
}

function messages(lines: LogLine[]): string[] {
  return lines.map((line) => line.msg);
}

describe('Reporter against the API server', () => {
  it('reports on a fixed schedule', async () => {
    const server = await startServer();
    const { id: queueId } = (await new ApiClient({ server: server.url }).call('queues.create', { name: 'gpu-queue' })) as { id: string };
    const { reporter, lines, source } = startReporter(server.url, { queues: [queueId] });

    await vi.waitFor(() => expect(reporter.counters.reports).toBeGreaterThanOrEqual(6), WAIT);

    const [listed] = await listWorkers(server);
    expect(listed.id).toBe(WORKER);
    expect(listed.queues.map((queue) => queue.id)).toEqual([queueId]);
    expect(listed.last_report_time).toBeTypeOf('string');
    expect(reporter.counters.registrations).toBe(1);
    expect(reporter.counters.retries).toBe(0);
    // Every report lies on the grid of the first one: delays do not accumulate.
    for (const timestampMs of source.timestamps) {
      const offset = (timestampMs - source.timestamps[0]) % PERIOD_MS;
      expect(Math.min(offset, PERIOD_MS - offset)).toBeLessThan(60);
    }
    expect(messages(lines).slice(0, 2)).toEqual(['start', 'registered']);
    expect(lines[0].worker).toBe(WORKER);
  });

  it('registers again after restart', async () => {
    const first = await startServer();
    const { reporter, lines } = startReporter(first.url);
    await vi.waitFor(() => expect(reporter.counters.reports).toBeGreaterThanOrEqual(2), WAIT);

    await first.close();
    const second = await startServer(first.port);
    const reportsBeforeRestart = reporter.counters.reports;

    await vi.waitFor(() => expect(reporter.counters.reports).toBeGreaterThanOrEqual(reportsBeforeRestart + 3), WAIT);
    expect(reporter.counters.registrations).toBe(2);
    expect(messages(lines)).toContain('worker not registered on the server, registering again');
    const listed = await listWorkers(second);
    expect(listed.map((worker) => worker.id)).toEqual([WORKER]);
    expect(listed[0].last_report_time).toBeTypeOf('string');
  });

  it('retries until the server starts', async () => {
    const port = await findFreePort();
    const { reporter, lines } = startReporter(`http://127.0.0.1:${port}`);

    await vi.waitFor(() => expect(reporter.counters.retries).toBeGreaterThanOrEqual(5), WAIT);
    const server = await startServer(port);
    await vi.waitFor(() => expect(reporter.counters.reports).toBeGreaterThanOrEqual(1), WAIT);

    const retries = lines.filter((line) => line.msg === 'retry').slice(0, 5);
    expect(retries.map((line) => line.attempt)).toEqual([1, 2, 3, 4, 5]);
    expect(retries.every((line) => line.endpoint === 'workers.register' && line.code === 'ECONNREFUSED')).toBe(true);
    // Equal jitter keeps each delay within [half, all] of min(20 ms * 2^(attempt-1), 160 ms).
    for (const line of retries) {
      const capped = Math.min(BACKOFF.maxDelayMs, BACKOFF.initialDelayMs * 2 ** ((line.attempt as number) - 1));
      expect(line.delay_ms).toBeGreaterThanOrEqual(Math.floor(capped / 2));
      expect(line.delay_ms).toBeLessThanOrEqual(capped);
    }
    expect(reporter.counters.registrations).toBe(1);
    expect((await listWorkers(server)).map((worker) => worker.id)).toEqual([WORKER]);
  });

  it('retries 503 responses', async () => {
    const server = await startServer();
    const proxy: FaultProxy = await startFaultProxy(server.url);
    cleanups.push(() => proxy.close());
    const { reporter, lines } = startReporter(proxy.url);
    await vi.waitFor(() => expect(reporter.counters.reports).toBeGreaterThanOrEqual(2), WAIT);

    proxy.failing = true;
    await vi.waitFor(() => expect(proxy.rejected).toBeGreaterThanOrEqual(4), WAIT);
    proxy.failing = false;
    const reportsAfterOutage = reporter.counters.reports;
    await vi.waitFor(() => expect(reporter.counters.reports).toBeGreaterThanOrEqual(reportsAfterOutage + 2), WAIT);

    const retries = lines.filter((line) => line.msg === 'retry');
    expect(retries.length).toBeGreaterThanOrEqual(4);
    expect(retries[0]).toMatchObject({ endpoint: 'workers.status_report', attempt: 1, result_code: 503, result_subcode: 0 });
    expect(reporter.counters.registrations).toBe(1);
    expect(reporter.counters.failedReports).toBe(0);
  });

  it('unregisters on stop', async () => {
    const server = await startServer();
    const { reporter, lines } = startReporter(server.url);
    await vi.waitFor(() => expect(reporter.counters.reports).toBeGreaterThanOrEqual(1), WAIT);

    await reporter.stop();

    expect(await listWorkers(server)).toEqual([]);
    expect(messages(lines).slice(-2)).toEqual(['unregistered', 'stop']);
    expect(lines.at(-1)).toMatchObject({ registrations: 1, failedReports: 0 });
  });

  it('stops while the server is down', async () => {
    const server = await startServer();
    const { reporter, lines } = startReporter(server.url);
    await vi.waitFor(() => expect(reporter.counters.reports).toBeGreaterThanOrEqual(1), WAIT);
    await server.close();
    await vi.waitFor(() => expect(reporter.counters.retries).toBeGreaterThanOrEqual(1), WAIT);

    await reporter.stop();

    const unregisterFailure = lines.find((line) => line.msg === 'unregister failed');
    expect(unregisterFailure?.code).toBe('ECONNREFUSED');
    expect(lines.at(-1)?.msg).toBe('stop');
  });
});

describe('Reporter against scripted responses', () => {
  async function startScripted(answers: Record<string, [number, number]>): Promise<EnvelopeServer> {
    const server = await startEnvelopeServer((request) => {
      const [code, subcode] = answers[request.endpoint] ?? [200, 0];
      return { status: code, body: envelope(code, subcode, code === 200 ? 'OK' : 'rejected') };
    });
    cleanups.push(() => server.close());

    return server;
  }

  it('keeps reporting after a rejection', async () => {
    const server = await startScripted({ 'workers.status_report': [400, 12] });
    const { reporter, lines } = startReporter(server.url);

    await vi.waitFor(() => expect(reporter.counters.failedReports).toBeGreaterThanOrEqual(3), WAIT);

    expect(reporter.counters.registrations).toBe(1);
    expect(reporter.counters.retries).toBe(0);
    const failure = lines.find((line) => line.msg === 'status report failed');
    expect(failure).toMatchObject({ worker: WORKER, result_code: 400, result_subcode: 12 });
  });

  it('retries rejected registration per period', async () => {
    const server = await startScripted({ 'workers.register': [400, 1002] });
    const { reporter, lines } = startReporter(server.url);

    await vi.waitFor(
      () => expect(server.requests.filter((request) => request.endpoint === 'workers.register').length).toBeGreaterThanOrEqual(3),
      WAIT,
    );

    expect(reporter.counters.registrations).toBe(0);
    expect(server.requests.some((request) => request.endpoint === 'workers.status_report')).toBe(false);
    expect(lines.find((line) => line.msg === 'registration failed, trying again in one period')).toMatchObject({
      result_code: 400,
      result_subcode: 1002,
    });
  });

  it('tolerates unknown worker on unregister', async () => {
    const server = await startScripted({ 'workers.unregister': [400, 1004] });
    const { reporter, lines } = startReporter(server.url);
    await vi.waitFor(() => expect(reporter.counters.reports).toBeGreaterThanOrEqual(1), WAIT);

    await reporter.stop();

    expect(messages(lines)).toContain('unregister skipped: the server no longer knows the worker');
    expect(messages(lines)).not.toContain('unregister failed');
  });

  it('sends the report fields', async () => {
    const server = await startScripted({});
    const { reporter, source } = startReporter(server.url, { queues: ['gpu-queue'] });
    await vi.waitFor(() => expect(reporter.counters.reports).toBeGreaterThanOrEqual(1), WAIT);

    const [register, report] = server.requests;
    expect(register).toMatchObject({ endpoint: 'workers.register', body: { worker: WORKER, queues: ['gpu-queue'], timeout: 60 } });
    expect(report.endpoint).toBe('workers.status_report');
    expect(report.body).toEqual({
      worker: WORKER,
      timestamp: source.timestamps[0],
      queues: ['gpu-queue'],
      machine_stats: { memory_used: 1024, cpu_usage: [10, 20] },
    });
    expect(source.timestamps[0]).toBeGreaterThan(1e12);
  });
});

describe('Reporter options', () => {
  it('rejects timeout below the period', () => {
    const { logger } = captureLogger();

    expect(
      () =>
        new Reporter({
          client: new ApiClient({ server: 'http://127.0.0.1:1' }),
          worker: WORKER,
          source: recordingSource(),
          logger,
          periodMs: 10_000,
          registrationTimeoutSeconds: 10,
        }),
    ).toThrow('invalid registration timeout 10 s: must exceed the period of 10000 ms');
  });
});
