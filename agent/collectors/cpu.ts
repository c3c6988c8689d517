import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** Cumulative time of one logical CPU since boot, in clock ticks (USER_HZ). */
export interface CpuTimes {
  /** The N of the `cpuN` line. */
  cpu: number;
  total: number;
  /** Idle plus I/O wait. */
  idle: number;
}

/**
 * Parses the per-CPU `cpuN` lines of /proc/stat; the aggregate `cpu` line is skipped.
 * The total sums user, nice, system, idle, iowait, irq, softirq and steal. The guest
 * columns are left out because the kernel already counts them in user and nice.
 */
export function parseProcStat(text: string): CpuTimes[] {
  const times: CpuTimes[] = [];

  for (const line of text.split('\n')) {
    const match = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!match) {
      continue;
    }

    const columns = match[2].trim().split(/\s+/).map(Number);
    if (columns.length < 4 || columns.some((value) => !Number.isFinite(value))) {
      continue;
    }

    const [user, nice, system, idle, iowait = 0, irq = 0, softirq = 0, steal = 0] = columns;
    times.push({
      cpu: Number(match[1]),
      total: user + nice + system + idle + iowait + irq + softirq + steal,
      idle: idle + iowait,
    });
  }

  return times.sort((a, b) => a.cpu - b.cpu);
}

/**
 * Computes the busy share of each CPU between two readings, in percent (0 to 100), in
 * the order of `current`. A CPU that came online between the readings has no previous
 * reading and is left out; a CPU with no elapsed ticks counts as idle.
 */
export function cpuUsagePercent(previous: CpuTimes[], current: CpuTimes[]): number[] {
  const previousByCpu = new Map(previous.map((times) => [times.cpu, times]));
  const usage: number[] = [];

  for (const times of current) {
    const before = previousByCpu.get(times.cpu);
    if (!before) {
      continue;
    }

    const totalTicks = times.total - before.total;
    const idleTicks = times.idle - before.idle;
    const busy = totalTicks > 0 ? (100 * (totalTicks - idleTicks)) / totalTicks : 0;
    usage.push(Math.min(100, Math.max(0, busy)));
  }

  return usage;
}

export async function readCpuTimes(procRoot: string): Promise<CpuTimes[]> {
  return parseProcStat(await readFile(path.join(procRoot, 'stat'), 'utf8'));
}
