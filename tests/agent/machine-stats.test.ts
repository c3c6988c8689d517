import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, open, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { MIN_RATE_INTERVAL_MS, MachineStatsSampler } from '../../agent/machine-stats';
import { machineStatsSchema } from '../../lib/schemas/workers';
import { captureLogger } from './helpers';

const MB = 1024 * 1024;

const temporaryDirectories: string[] = [];

async function makeTemporaryDirectory(): Promise<string> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'agent-sampler-'));
  temporaryDirectories.push(directory);

  return directory;
}

afterEach(async () => {
  await Promise.all(temporaryDirectories.splice(0).map((directory) => rm(directory, { recursive: true, force: true })));
});

interface ProcState {
  cpuTicks: [number, number][];
  rxBytes: number;
  txBytes: number;
  sectorsRead: number;
  sectorsWritten: number;
}

async function writeProc(procRoot: string, state: ProcState): Promise<void> {
  const cpuLines = state.cpuTicks.map(([busy, idle], cpu) => `cpu${cpu} ${busy} 0 0 ${idle} 0 0 0 0 0 0`);
  await mkdir(path.join(procRoot, 'net'), { recursive: true });
  await writeFile(path.join(procRoot, 'stat'), `cpu  0 0 0 0 0 0 0 0 0 0\n${cpuLines.join('\n')}\nintr 0\n`);
  await writeFile(path.join(procRoot, 'meminfo'), 'MemTotal: 8388608 kB\nMemFree: 1048576 kB\nMemAvailable: 6291456 kB\n');
  await writeFile(
    path.join(procRoot, 'net', 'dev'),
    'Inter-| header\n face | header\n' +
      `    lo: 777777 0 0 0 0 0 0 0 777777 0 0 0 0 0 0 0\n` +
      `  eth0: ${state.rxBytes} 0 0 0 0 0 0 0 ${state.txBytes} 0 0 0 0 0 0 0\n`,
  );
  await writeFile(
    path.join(procRoot, 'diskstats'),
    ` 254 0 vda 0 0 ${state.sectorsRead} 0 0 0 ${state.sectorsWritten} 0 0 0 0 0 0 0 0 0 0\n` +
      ` 254 1 vda1 0 0 ${state.sectorsRead} 0 0 0 ${state.sectorsWritten} 0 0 0 0 0 0 0 0 0 0\n`,
  );
}

/** Creates a /proc and /sys tree with one CPU, eth0, disk vda and a k10temp sensor. */
async function makeFakeMachine(): Promise<{ procRoot: string; sysRoot: string }> {
  const root = await makeTemporaryDirectory();
  const procRoot = path.join(root, 'proc');
  const sysRoot = path.join(root, 'sys');
  await mkdir(path.join(sysRoot, 'block'), { recursive: true });
  await symlink('../devices/pci0000:00/virtio1/block/vda', path.join(sysRoot, 'block', 'vda'));
  await mkdir(path.join(sysRoot, 'class', 'hwmon', 'hwmon0'), { recursive: true });
  await writeFile(path.join(sysRoot, 'class', 'hwmon', 'hwmon0', 'name'), 'k10temp\n');
  await writeFile(path.join(sysRoot, 'class', 'hwmon', 'hwmon0', 'temp1_input'), '61250\n');

  return { procRoot, sysRoot };
}

describe('MachineStatsSampler on a fixed /proc and /sys', () => {
  it('computes usage and rates', async () => {
    const { procRoot, sysRoot } = await makeFakeMachine();
    let clockMs = 1_000;
    const sampler = new MachineStatsSampler({ procRoot, sysRoot, nvidiaSmi: false, clock: () => clockMs });
    await writeProc(procRoot, { cpuTicks: [[100, 900], [500, 500]], rxBytes: 0, txBytes: 0, sectorsRead: 0, sectorsWritten: 0 });
    await sampler.prime();

    // Two seconds later: core 0 busy 25 of 100 ticks, core 1 all 100; 8 MB in, 2 MB out;
    // 4096 sectors (2 MB) read and 16384 sectors (8 MB) written on the whole disk.
    await writeProc(procRoot, {
      cpuTicks: [[125, 975], [600, 500]],
      rxBytes: 8 * MB,
      txBytes: 2 * MB,
      sectorsRead: 4096,
      sectorsWritten: 16384,
    });
    clockMs += 2_000;
    const { disk_free_home: diskFreeHome, disk_free_temp: diskFreeTemp, ...stats } = await sampler.sample();

    expect(stats).toEqual({
      cpu_usage: [25, 100],
      cpu_temperature: [61.25],
      memory_used: 2048,
      memory_free: 6144,
      network_rx: 4,
      network_tx: 1,
      disk_read: 1,
      disk_write: 4,
    });
    expect(diskFreeHome).toBeTypeOf('number');
    expect(diskFreeTemp).toBeTypeOf('number');
  });

  it('omits rates without a baseline', async () => {
    const { procRoot, sysRoot } = await makeFakeMachine();
    await writeProc(procRoot, { cpuTicks: [[1, 1]], rxBytes: 0, txBytes: 0, sectorsRead: 0, sectorsWritten: 0 });
    const sampler = new MachineStatsSampler({ procRoot, sysRoot, nvidiaSmi: false, clock: () => 0 });

    const stats = await sampler.sample();

    expect(Object.keys(stats).sort()).toEqual(['cpu_temperature', 'disk_free_home', 'disk_free_temp', 'memory_free', 'memory_used']);
  });

  it('keeps baseline for close samples', async () => {
    const { procRoot, sysRoot } = await makeFakeMachine();
    let clockMs = 0;
    const sampler = new MachineStatsSampler({ procRoot, sysRoot, nvidiaSmi: false, clock: () => clockMs });
    await writeProc(procRoot, { cpuTicks: [[0, 100]], rxBytes: 0, txBytes: 0, sectorsRead: 0, sectorsWritten: 0 });
    await sampler.prime();

    clockMs = MIN_RATE_INTERVAL_MS - 1;
    await writeProc(procRoot, { cpuTicks: [[50, 150]], rxBytes: MB, txBytes: 0, sectorsRead: 0, sectorsWritten: 0 });
    const early = await sampler.sample();
    clockMs = 1_000;
    await writeProc(procRoot, { cpuTicks: [[100, 200]], rxBytes: MB, txBytes: 0, sectorsRead: 0, sectorsWritten: 0 });
    const later = await sampler.sample();

    expect(early.cpu_usage).toBeUndefined();
    expect(later.cpu_usage).toEqual([50]);
    expect(later.network_rx).toBe(1);
  });

  it('logs a failing source once', async () => {
    const { procRoot, sysRoot } = await makeFakeMachine();
    const { logger, lines } = captureLogger();
    const sampler = new MachineStatsSampler({ procRoot, sysRoot, nvidiaSmi: false, logger });
    await writeProc(procRoot, { cpuTicks: [[1, 1]], rxBytes: 0, txBytes: 0, sectorsRead: 0, sectorsWritten: 0 });
    await rm(path.join(procRoot, 'meminfo'));

    const first = await sampler.sample();
    const second = await sampler.sample();

    expect(first.memory_used).toBeUndefined();
    expect(second.memory_used).toBeUndefined();
    const failures = lines.filter((line) => line.msg === 'machine stats source failed, omitting it');
    expect(failures).toHaveLength(1);
    expect(failures[0].source).toBe('memory');
  });

  it('adds GPU arrays from nvidia-smi', async () => {
    const { procRoot, sysRoot } = await makeFakeMachine();
    await writeProc(procRoot, { cpuTicks: [[1, 1]], rxBytes: 0, txBytes: 0, sectorsRead: 0, sectorsWritten: 0 });
    const executable = path.join(path.dirname(procRoot), 'nvidia-smi');
    await writeFile(executable, "#!/bin/sh\nprintf '0, 91, 30000, 10960, 71\\n1, 0, 3, 40957, 35\\n'\n", { mode: 0o755 });
    const sampler = new MachineStatsSampler({ procRoot, sysRoot, nvidiaSmi: executable });

    const stats = await sampler.sample();

    expect(stats.gpu_usage).toEqual([91, 0]);
    expect(stats.gpu_memory_used).toEqual([30000, 3]);
    expect(stats.gpu_memory_free).toEqual([10960, 40957]);
    expect(stats.gpu_temperature).toEqual([71, 35]);
  });

  it('tries a missing nvidia-smi once', async () => {
    const { procRoot, sysRoot } = await makeFakeMachine();
    await writeProc(procRoot, { cpuTicks: [[1, 1]], rxBytes: 0, txBytes: 0, sectorsRead: 0, sectorsWritten: 0 });
    const { logger, lines } = captureLogger();
    const sampler = new MachineStatsSampler({ procRoot, sysRoot, nvidiaSmi: path.join(procRoot, 'missing'), logger });

    const first = await sampler.sample();
    const second = await sampler.sample();

    expect(first.gpu_usage).toBeUndefined();
    expect(second.gpu_usage).toBeUndefined();
    expect(lines.filter((line) => line.msg === 'nvidia-smi not found, reporting no GPU stats')).toHaveLength(1);
  });
});

describe('MachineStatsSampler on this machine', () => {
  it('reports values in range', async () => {
    const sampler = new MachineStatsSampler();
    await sampler.prime();
    await new Promise((resolve) => setTimeout(resolve, 300));

    const stats = await sampler.sample();

    expect(machineStatsSchema.safeParse(stats).success).toBe(true);
    expect(stats.cpu_usage).toHaveLength(os.cpus().length);
    for (const usage of stats.cpu_usage as number[]) {
      expect(usage).toBeGreaterThanOrEqual(0);
      expect(usage).toBeLessThanOrEqual(100);
    }
    // used + free = MemTotal, and os.totalmem() is MemTotal in bytes.
    expect((stats.memory_used as number) + (stats.memory_free as number)).toBeCloseTo(os.totalmem() / MB, 3);
    expect(stats.memory_used).toBeGreaterThan(0);
    expect(stats.memory_free).toBeGreaterThan(0);
    // df rounds Use% up to a whole percent, so free % lies within one point of 100 - Use%.
    for (const [key, directory] of [['disk_free_home', os.homedir()], ['disk_free_temp', os.tmpdir()]] as const) {
      const dfUsePercent = Number(execFileSync('df', ['--output=pcent', directory], { encoding: 'utf8' }).split('\n')[1].replace('%', ''));
      expect(stats[key]).toBeGreaterThanOrEqual(100 - dfUsePercent);
      expect(stats[key]).toBeLessThanOrEqual(100 - dfUsePercent + 1);
    }
    for (const key of ['network_rx', 'network_tx', 'disk_read', 'disk_write'] as const) {
      expect(stats[key]).toBeGreaterThanOrEqual(0);
    }
    for (const celsius of (stats.cpu_temperature as number[] | undefined) ?? []) {
      expect(celsius).toBeGreaterThan(-40);
      expect(celsius).toBeLessThan(130);
    }
  });

  it('sees CPU load', async () => {
    const sampler = new MachineStatsSampler({ nvidiaSmi: false });
    await sampler.prime();

    // Spin this thread for 500 ms: one core is busy for the whole interval.
    const until = performance.now() + 500;
    while (performance.now() < until) {
      // busy wait
    }
    const stats = await sampler.sample();

    expect(Math.max(...(stats.cpu_usage as number[]))).toBeGreaterThan(50);
  });

  it('sees a synced file write', async () => {
    const directory = await makeTemporaryDirectory();
    // The clock makes the interval one second long, so disk_write is the MB written in it.
    let clockMs = 0;
    const sampler = new MachineStatsSampler({ nvidiaSmi: false, clock: () => clockMs });
    await sampler.prime();

    const file = await open(path.join(directory, 'load.bin'), 'w');
    await file.write(Buffer.alloc(16 * MB, 1));
    await file.sync();
    await file.close();
    clockMs = 1_000;
    const stats = await sampler.sample();

    expect(stats.disk_write).toBeGreaterThanOrEqual(16);
  });
});
