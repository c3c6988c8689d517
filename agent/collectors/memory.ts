import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { BYTES_PER_MB } from './units';

export interface MemoryUsage {
  /** MemTotal minus MemAvailable, in MB. */
  usedMb: number;
  /** MemAvailable, in MB. */
  freeMb: number;
}

/**
 * Parses /proc/meminfo (values in KiB). Free memory is MemAvailable, the kernel's
 * estimate of what can be allocated without swapping. Kernels before 3.14 lack it,
 * so there it is estimated as MemFree + Buffers + Cached.
 */
export function parseMeminfo(text: string): MemoryUsage {
  const kibByField = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^(\w+(?:\(\w+\))?):\s+(\d+)/.exec(line);
    if (match) {
      kibByField.set(match[1], Number(match[2]));
    }
  }

  const totalKib = kibByField.get('MemTotal');
  if (totalKib === undefined) {
    throw new Error('invalid /proc/meminfo: MemTotal is missing');
  }

  const availableKib =
    kibByField.get('MemAvailable') ??
    (kibByField.get('MemFree') ?? 0) + (kibByField.get('Buffers') ?? 0) + (kibByField.get('Cached') ?? 0);
  const kibToMb = 1024 / BYTES_PER_MB;

  return {
    usedMb: (totalKib - availableKib) * kibToMb,
    freeMb: availableKib * kibToMb,
  };
}

export async function readMemoryUsage(procRoot: string): Promise<MemoryUsage> {
  return parseMeminfo(await readFile(path.join(procRoot, 'meminfo'), 'utf8'));
}
