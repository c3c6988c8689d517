import os from 'node:os';
import type { Logger } from 'pino';

import type { MachineStats } from '../lib/schemas/workers';
import { cpuUsagePercent, readCpuTimes, type CpuTimes } from './collectors/cpu';
import { diskRates, readDiskCounters, readDiskFreePercent, readWholeDiskNames, type DiskCounters } from './collectors/disk';
import { readGpuStats } from './collectors/gpu';
import { readMemoryUsage } from './collectors/memory';
import { networkRates, readNetworkCounters, type NetworkCounters } from './collectors/network';
import { readCpuTemperatures } from './collectors/temperature';
import type { ReportContent, ReportSource } from './reporter';

/**
 * Shortest interval between two counter readings that gives a rate, in milliseconds.
 * The kernel counts CPU time in ticks of 10 ms, so shorter intervals give 0 % or 100 %.
 */
export const MIN_RATE_INTERVAL_MS = 100;

export interface MachineStatsSamplerOptions {
  procRoot?: string;
  sysRoot?: string;
  /** Directory whose file system gives disk_free_home; the user's home by default. */
  homeDirectory?: string;
  /** Directory whose file system gives disk_free_temp; os.tmpdir() by default. */
  tempDirectory?: string;
  /** nvidia-smi executable to run, or false to report no GPU. Default: `nvidia-smi` from PATH. */
  nvidiaSmi?: string | false;
  logger?: Logger;
  /** Monotonic clock, in milliseconds; performance.now by default. */
  clock?: () => number;
}

/** Cumulative counters read at one moment; a field is undefined when its source failed. */
interface CounterReading {
  /** Monotonic time of the reading, in milliseconds. */
  atMs: number;
  cpu: CpuTimes[] | undefined;
  network: NetworkCounters | undefined;
  disk: DiskCounters | undefined;
}

/**
 * Reads this machine's machine_stats from Linux /proc and /sys, statfs and nvidia-smi.
 * CPU usage and the network and disk rates are differences between the counters of
 * this sample and the previous one (or the priming read), so the first sample without
 * a prime() omits them. A source that fails is left out of the sample and logged once,
 * and again when it recovers.
 */
export class MachineStatsSampler {
  private readonly procRoot: string;
  private readonly sysRoot: string;
  private readonly homeDirectory: string;
  private readonly tempDirectory: string;
  private nvidiaSmi: string | false;
  private readonly logger: Logger | undefined;
  private readonly clock: () => number;
  private previous: CounterReading | undefined;
  private readonly failingSources = new Set<string>();

  constructor(options: MachineStatsSamplerOptions = {}) {
    this.procRoot = options.procRoot ?? '/proc';
    this.sysRoot = options.sysRoot ?? '/sys';
    this.homeDirectory = options.homeDirectory ?? os.homedir();
    this.tempDirectory = options.tempDirectory ?? os.tmpdir();
    this.nvidiaSmi = options.nvidiaSmi ?? 'nvidia-smi';
    this.logger = options.logger;
    this.clock = options.clock ?? (() => performance.now());
  }

  /** Reads the counters that the next sample() computes its CPU usage and rates from. */
  async prime(): Promise<void> {
    this.previous = await this.readCounters();
  }

  async sample(): Promise<MachineStats> {
    const [counters, memory, diskFreeHome, diskFreeTemp, cpuTemperatures, gpu] = await Promise.all([
      this.readCounters(),
      this.attempt('memory', () => readMemoryUsage(this.procRoot)),
      this.attempt('disk_free_home', () => readDiskFreePercent(this.homeDirectory)),
      this.attempt('disk_free_temp', () => readDiskFreePercent(this.tempDirectory)),
      this.attempt('cpu_temperature', () => readCpuTemperatures(this.sysRoot)),
      this.readGpu(),
    ]);

    const stats: MachineStats = {};

    const previous = this.previous;
    const elapsedMs = previous ? counters.atMs - previous.atMs : 0;
    if (previous && elapsedMs >= MIN_RATE_INTERVAL_MS) {
      Object.assign(stats, await this.computeRates(previous, counters, elapsedMs / 1000));
    }
    // A reading too close to the previous one is dropped, so the next rate spans enough time.
    if (!previous || elapsedMs >= MIN_RATE_INTERVAL_MS) {
      this.previous = counters;
    }

    if (memory) {
      stats.memory_used = memory.usedMb;
      stats.memory_free = memory.freeMb;
    }
    if (diskFreeHome !== undefined) {
      stats.disk_free_home = diskFreeHome;
    }
    if (diskFreeTemp !== undefined) {
      stats.disk_free_temp = diskFreeTemp;
    }
    if (cpuTemperatures && cpuTemperatures.length > 0) {
      stats.cpu_temperature = cpuTemperatures;
    }
    Object.assign(stats, gpu);

    return stats;
  }

  private async computeRates(previous: CounterReading, current: CounterReading, elapsedSeconds: number) {
    const stats: MachineStats = {};

    if (previous.cpu && current.cpu) {
      const usage = cpuUsagePercent(previous.cpu, current.cpu);
      if (usage.length > 0) {
        stats.cpu_usage = usage;
      }
    }

    if (previous.network && current.network) {
      const rates = networkRates(previous.network, current.network, elapsedSeconds);
      stats.network_rx = rates.rxMbPerSecond;
      stats.network_tx = rates.txMbPerSecond;
    }

    const previousDisk = previous.disk;
    const currentDisk = current.disk;
    if (previousDisk && currentDisk) {
      const disks = await this.attempt('disk_names', () => readWholeDiskNames(this.sysRoot, currentDisk));
      if (disks) {
        const rates = diskRates(previousDisk, currentDisk, disks, elapsedSeconds);
        stats.disk_read = rates.readMbPerSecond;
        stats.disk_write = rates.writeMbPerSecond;
      }
    }

    return stats;
  }

  private async readCounters(): Promise<CounterReading> {
    const [cpu, network, disk] = await Promise.all([
      this.attempt('cpu_usage', () => readCpuTimes(this.procRoot)),
      this.attempt('network', () => readNetworkCounters(this.procRoot)),
      this.attempt('disk_io', () => readDiskCounters(this.procRoot)),
    ]);

    return { atMs: this.clock(), cpu, network, disk };
  }

  private async readGpu(): Promise<MachineStats> {
    if (this.nvidiaSmi === false) {
      return {};
    }

    const result = await readGpuStats(this.nvidiaSmi);
    if (result.status === 'missing') {
      // No NVIDIA driver tools on this machine: stop looking until the daemon restarts.
      this.logger?.info({ executable: this.nvidiaSmi }, 'nvidia-smi not found, reporting no GPU stats');
      this.nvidiaSmi = false;
      return {};
    }

    return this.attempt('gpu', async () => {
      if (result.status === 'failed') {
        throw result.error;
      }
      return result.stats;
    }).then((stats) => stats ?? {});
  }

  /** Runs one source, returning undefined when it fails; logs only changes between failing and working. */
  private async attempt<T>(source: string, read: () => Promise<T>): Promise<T | undefined> {
    try {
      const value = await read();
      if (this.failingSources.delete(source)) {
        this.logger?.info({ source }, 'machine stats source recovered');
      }
      return value;
    } catch (error) {
      if (!this.failingSources.has(source)) {
        this.failingSources.add(source);
        this.logger?.warn({ source, error: (error as Error).message }, 'machine stats source failed, omitting it');
      }
      return undefined;
    }
  }
}

/** Adapts a sampler to the reporter: every report carries this machine's stats and no task. */
export class MachineStatsSource implements ReportSource {
  constructor(private readonly sampler: MachineStatsSampler) {}

  prime(): Promise<void> {
    return this.sampler.prime();
  }

  async read(): Promise<ReportContent> {
    return { machine_stats: await this.sampler.sample() };
  }
}
