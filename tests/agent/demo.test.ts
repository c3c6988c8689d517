import { afterEach, describe, expect, it, vi } from 'vitest';

import { ApiClient } from '../../agent/api-client';
import { getStatsResponseSchema, machineStatsSchema } from '../../lib/schemas/workers';
import { MAX_FAILED_REPORTS, backfill } from '../../scripts/demo/backfill';
import { buildFleet } from '../../scripts/demo/fleet';
import { SimulatedWorker } from '../../scripts/demo/simulation';
import { startTestServer, type TestServer } from '../helpers/server';
import { captureLogger, envelope, startEnvelopeServer } from './helpers';
import { parseLogLines, runScript, type RunningScript } from './process';

const HOUR_MS = 3_600_000;
const NOW_MS = Date.UTC(2026, 2, 10, 12, 0, 0);

let server: TestServer | undefined;
let demo: RunningScript | undefined;

afterEach(async () => {
  await demo?.kill();
  demo = undefined;
  await server?.close();
  server = undefined;
});

describe('buildFleet', () => {
  it('is deterministic per seed', () => {
    expect(buildFleet(12, 7)).toEqual(buildFleet(12, 7));
    expect(buildFleet(12, 7)).not.toEqual(buildFleet(12, 8));
  });

  it('mixes GPU and CPU workers', () => {
    const fleet = buildFleet(12, 1);

    expect(fleet).toHaveLength(12);
    expect(new Set(fleet.map((worker) => worker.id)).size).toBe(12);
    const gpuWorkers = fleet.filter((worker) => worker.gpuCount > 0);
    expect(gpuWorkers).toHaveLength(8);
    for (const worker of gpuWorkers) {
      const cards = Array.from({ length: worker.gpuCount }, (_, card) => card).join(',');
      expect(worker.id).toMatch(new RegExp(`^demo-gpu-\\d{2}:gpu${cards}$`));
      expect([1, 2, 4, 8]).toContain(worker.gpuCount);
    }
    for (const worker of fleet.filter((candidate) => candidate.gpuCount === 0)) {
      expect(worker.id).toMatch(/^demo-cpu-\d{2}:cpu$/);
    }
    for (const worker of fleet) {
      expect(worker.cores).toBeGreaterThanOrEqual(4);
      expect(worker.cores).toBeLessThanOrEqual(64);
    }
  });
});

describe('SimulatedWorker', () => {
  const fleet = buildFleet(12, 1);

  it('depends only on the timestamp', () => {
    const backfilled = new SimulatedWorker(fleet[3], NOW_MS - 24 * HOUR_MS);
    const live = new SimulatedWorker(fleet[3], NOW_MS - 24 * HOUR_MS);
    for (let timestampMs = NOW_MS - 24 * HOUR_MS; timestampMs < NOW_MS; timestampMs += 60_000) {
      backfilled.statsAt(timestampMs);
    }

    expect(live.statsAt(NOW_MS)).toEqual(backfilled.statsAt(NOW_MS));
    expect(live.jobAt(NOW_MS)).toEqual(backfilled.jobAt(NOW_MS));
  });

  it('keeps stats valid and in range', () => {
    for (const spec of fleet) {
      const worker = new SimulatedWorker(spec, NOW_MS - 24 * HOUR_MS);
      for (let timestampMs = NOW_MS - 24 * HOUR_MS; timestampMs < NOW_MS; timestampMs += 10 * 60_000) {
        const stats = worker.statsAt(timestampMs);

        expect(machineStatsSchema.safeParse(stats).success).toBe(true);
        expect(stats.cpu_usage).toHaveLength(spec.cores);
        for (const usage of [...(stats.cpu_usage as number[]), ...((stats.gpu_usage as number[] | undefined) ?? [])]) {
          expect(usage).toBeGreaterThanOrEqual(0);
          expect(usage).toBeLessThanOrEqual(100);
        }
        expect((stats.memory_used as number) + (stats.memory_free as number)).toBeCloseTo(spec.memoryMb, 1);
        expect(stats.gpu_usage === undefined).toBe(spec.gpuCount === 0);
        (stats.gpu_memory_used as number[] | undefined)?.forEach((used, card) => {
          expect(used + (stats.gpu_memory_free as number[])[card]).toBe(spec.gpuMemoryMb);
        });
        for (const key of ['disk_free_home', 'disk_free_temp'] as const) {
          expect(stats[key]).toBeGreaterThanOrEqual(0);
          expect(stats[key]).toBeLessThanOrEqual(100);
        }
      }
    }
  });

  it('runs jobs on busy workers only', async () => {
    const busy = fleet.find((spec) => spec.busyShare > 0.6);
    const idle = fleet.find((spec) => spec.busyShare === 0);
    if (!busy || !idle) {
      throw new Error('seed 1 must give at least one busy and one idle worker');
    }
    const busyWorker = new SimulatedWorker(busy, NOW_MS - 24 * HOUR_MS);
    const idleWorker = new SimulatedWorker(idle, NOW_MS - 24 * HOUR_MS);
    const tasks = new Set<string>();
    let idleSamples = 0;

    for (let timestampMs = NOW_MS - 24 * HOUR_MS; timestampMs < NOW_MS; timestampMs += 60_000) {
      const report = await busyWorker.read(timestampMs);
      if (report.task === undefined) {
        idleSamples += 1;
      } else {
        tasks.add(report.task);
        expect(report.queue).toBe(busy.queues[0]);
      }
      expect((await idleWorker.read(timestampMs)).task).toBeUndefined();
    }

    expect(tasks.size).toBeGreaterThanOrEqual(2);
    expect([...tasks].every((task) => /^[0-9a-f]{32}$/.test(task))).toBe(true);
    expect(idleSamples).toBeGreaterThan(0);
  });
});

describe('backfill', () => {
  const fleet = buildFleet(2, 1);
  const workers = () => fleet.map((spec) => new SimulatedWorker(spec, NOW_MS - HOUR_MS));

  async function runBackfill(answer: [number, number]) {
    const scripted = await startEnvelopeServer((request) => {
      const [code, subcode] = request.endpoint === 'workers.status_report' ? answer : [200, 0];
      return { status: code, body: envelope(code, subcode, code === 200 ? 'OK' : 'rejected') };
    });
    const { logger, lines } = captureLogger();
    try {
      const outcome = await backfill({
        client: new ApiClient({ server: scripted.url }),
        workers: workers(),
        fromMs: NOW_MS - HOUR_MS,
        toMs: NOW_MS,
        stepMs: 60_000,
        concurrency: 4,
        logger,
        backoff: { initialDelayMs: 1, maxDelayMs: 2, multiplier: 2 },
      }).catch((error: unknown) => error);
      return { outcome, lines, requests: scripted.requests };
    } finally {
      await scripted.close();
    }
  }

  it('sends newest reports last', async () => {
    const { outcome, requests } = await runBackfill([200, 0]);

    expect(outcome).toEqual({ sent: 120, failed: 0 });
    const reports = requests.filter((request) => request.endpoint === 'workers.status_report');
    expect(reports.slice(-2).map((request) => request.body.timestamp)).toEqual([NOW_MS - 60_000, NOW_MS - 60_000]);
    expect(reports.slice(0, -2).every((request) => (request.body.timestamp as number) < NOW_MS - 60_000)).toBe(true);
  });

  it('gives up on rejected reports', async () => {
    const { outcome, requests, lines } = await runBackfill([400, 12]);

    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as Error).message).toBe(
      `backfill stopped after ${MAX_FAILED_REPORTS} failed reports; the last failure: workers.status_report failed with 400/12: rejected`,
    );
    expect(lines.filter((line) => line.msg === 'backfill report failed')).toHaveLength(MAX_FAILED_REPORTS);
    expect(lines.some((line) => line.msg === 'retry')).toBe(false);
    // Reports already in flight when the limit is reached still arrive: at most one per sender.
    expect(requests.filter((request) => request.endpoint === 'workers.status_report').length).toBeLessThanOrEqual(MAX_FAILED_REPORTS + 3);
  });

  it('retries a 500 five times', async () => {
    const { outcome, lines } = await runBackfill([500, 0]);

    expect((outcome as Error).message).toContain(`backfill stopped after ${MAX_FAILED_REPORTS} failed reports`);
    const retries = lines.filter((line) => line.msg === 'retry');
    expect(retries[0]).toMatchObject({ attempt: 1, result_code: 500, result_subcode: 0 });
    // Six calls per report: five retries, numbered 1 to 5.
    expect(Math.max(...retries.map((line) => line.attempt as number))).toBe(5);
  });
});

describe('demo CLI', () => {
  async function call<T>(endpoint: string, body: object): Promise<T> {
    return (await new ApiClient({ server: (server as TestServer).url }).call(endpoint, body)) as T;
  }

  it('backfills one report per minute', async () => {
    server = await startTestServer();
    const startedS = Math.floor(Date.now() / 1000);
    demo = runScript('scripts/demo.ts', ['--server', server.url, '--workers', '3', '--backfill-hours', '1', '--no-live']);

    expect(await demo.exited).toBe(0);

    const expectedIds = buildFleet(3, 1).map((spec) => spec.id);
    const { workers } = await call<{ workers: { id: string }[] }>('workers.get_all', {});
    expect(workers.map((worker) => worker.id).sort()).toEqual([...expectedIds].sort());
    const stats = getStatsResponseSchema.parse(
      await call('workers.get_stats', {
        from_date: startedS - 2 * 3600,
        to_date: startedS + 3600,
        interval: 60,
        items: [{ key: 'memory_used', aggregation: 'avg' }],
      }),
    );
    expect(stats.workers.map((worker) => worker.worker).sort()).toEqual([...expectedIds].sort());
    for (const worker of stats.workers) {
      // One hour at one report per minute, the minute of the start excluded: 60 buckets.
      expect(worker.metrics[0].dates).toHaveLength(60);
    }
    const logs = parseLogLines(demo.stdoutLines);
    expect(logs.find((line) => line.msg === 'backfill done')).toMatchObject({ sent: 180, failed: 0 });
    expect(logs.filter((line) => line.msg === 'backfill progress').map((line) => line.percent)).toEqual([
      10, 20, 30, 40, 50, 60, 70, 80, 90, 100,
    ]);
  });

  it('unregisters the fleet on SIGTERM', async () => {
    server = await startTestServer();
    demo = runScript('scripts/demo.ts', ['--server', server.url, '--workers', '2', '--backfill-hours', '0', '--period', '0.2']);

    await vi.waitFor(
      async () => {
        const { workers } = await call<{ workers: { last_report_time?: string }[] }>('workers.get_all', {});
        expect(workers).toHaveLength(2);
        expect(workers.every((worker) => worker.last_report_time !== undefined)).toBe(true);
      },
      { timeout: 20_000, interval: 50 },
    );
    demo.child.kill('SIGTERM');

    expect(await demo.exited).toBe(0);
    expect(await call('workers.get_all', {})).toEqual({ workers: [] });
    const logs = parseLogLines(demo.stdoutLines);
    expect(logs.filter((line) => line.msg === 'unregistered')).toHaveLength(2);
  });

  it('exits 2 on invalid option', async () => {
    demo = runScript('scripts/demo.ts', ['--workers', '0']);

    expect(await demo.exited).toBe(2);
    expect(demo.stderr()).toBe('invalid --workers "0": expected a whole number from 1 to 1000\nRun with --help for usage.\n');
  });
});
