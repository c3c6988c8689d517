import { readdir, readFile, readlink, statfs } from 'node:fs/promises';
import path from 'node:path';

import { BYTES_PER_MB } from './units';

/** /proc/diskstats counts sectors of 512 bytes whatever the device's real sector size. */
const DISKSTATS_SECTOR_BYTES = 512;

/** Cumulative sector counters by block device name. */
export type DiskCounters = Map<string, { sectorsRead: number; sectorsWritten: number }>;

export interface DiskRates {
  /** Read, in MB/s. */
  readMbPerSecond: number;
  /** Written, in MB/s. */
  writeMbPerSecond: number;
}

/** Parses /proc/diskstats; the sector counters are columns 6 and 10 (1-based). */
export function parseDiskstats(text: string): DiskCounters {
  const counters: DiskCounters = new Map();

  for (const line of text.split('\n')) {
    const columns = line.trim().split(/\s+/);
    if (columns.length < 10) {
      continue;
    }

    const sectorsRead = Number(columns[5]);
    const sectorsWritten = Number(columns[9]);
    if (Number.isFinite(sectorsRead) && Number.isFinite(sectorsWritten)) {
      counters.set(columns[2], { sectorsRead, sectorsWritten });
    }
  }

  return counters;
}

/**
 * Computes read and write rates summed over `disks`, from devices present in both
 * readings. A counter that went down (device re-attached) counts as zero traffic.
 */
export function diskRates(
  previous: DiskCounters,
  current: DiskCounters,
  disks: ReadonlySet<string>,
  elapsedSeconds: number,
): DiskRates {
  let sectorsRead = 0;
  let sectorsWritten = 0;

  for (const name of disks) {
    const before = previous.get(name);
    const now = current.get(name);
    if (!before || !now) {
      continue;
    }
    sectorsRead += Math.max(0, now.sectorsRead - before.sectorsRead);
    sectorsWritten += Math.max(0, now.sectorsWritten - before.sectorsWritten);
  }

  const sectorsToMb = DISKSTATS_SECTOR_BYTES / BYTES_PER_MB;

  return {
    readMbPerSecond: (sectorsRead * sectorsToMb) / elapsedSeconds,
    writeMbPerSecond: (sectorsWritten * sectorsToMb) / elapsedSeconds,
  };
}

// Used only when /sys/block cannot be read: names of virtual devices, then of partitions.
const VIRTUAL_DEVICE_NAME = /^(loop|ram|zram|dm-|md|sr|fd|nbd)/;
const PARTITION_NAME = /^((sd|hd|vd|xvd)[a-z]+\d+|(nvme\d+n\d+|mmcblk\d+)p\d+)$/;

/**
 * Returns the names of the machine's physical whole disks. Every entry of /sys/block is
 * a whole device, and partitions live below their disk. Entries whose sysfs path lies
 * under /devices/virtual (loop, zram, device-mapper, md RAID) are skipped. Their I/O
 * either reaches the physical disks below them, where it is counted, or never touches
 * a disk at all (zram).
 */
export async function readWholeDiskNames(sysRoot: string, diskstats: DiskCounters): Promise<Set<string>> {
  const blockDir = path.join(sysRoot, 'block');

  let entries: string[];
  try {
    entries = await readdir(blockDir);
  } catch {
    return new Set(
      [...diskstats.keys()].filter((name) => !VIRTUAL_DEVICE_NAME.test(name) && !PARTITION_NAME.test(name)),
    );
  }

  const disks = new Set<string>();
  for (const name of entries) {
    const target = await readlink(path.join(blockDir, name)).catch(() => '');
    if (!target.includes('/devices/virtual/')) {
      disks.add(name);
    }
  }

  return disks;
}

export async function readDiskCounters(procRoot: string): Promise<DiskCounters> {
  return parseDiskstats(await readFile(path.join(procRoot, 'diskstats'), 'utf8'));
}

/**
 * Returns the free share of the file system holding `directory`, in percent: available
 * blocks over used plus available blocks. Blocks reserved for root count neither way,
 * the way `df` computes Use% and psutil.disk_usage (which clearml-agent reports) does.
 */
export async function readDiskFreePercent(directory: string): Promise<number> {
  const stats = await statfs(directory);
  const usedBlocks = stats.blocks - stats.bfree;
  const usableBlocks = usedBlocks + stats.bavail;

  return usableBlocks > 0 ? (100 * stats.bavail) / usableBlocks : 0;
}
