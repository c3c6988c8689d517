import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { BYTES_PER_MB } from './units';

/** Cumulative byte counters of the machine's network interfaces, by interface name. */
export type NetworkCounters = Map<string, { rxBytes: number; txBytes: number }>;

export interface NetworkRates {
  /** Received, in MB/s. */
  rxMbPerSecond: number;
  /** Transmitted, in MB/s. */
  txMbPerSecond: number;
}

const LOOPBACK_INTERFACE = 'lo';

/** Parses /proc/net/dev into the byte counters of every interface except the loopback. */
export function parseNetDev(text: string): NetworkCounters {
  const counters: NetworkCounters = new Map();

  for (const line of text.split('\n')) {
    const separator = line.indexOf(':');
    if (separator < 0) {
      continue;
    }

    const name = line.slice(0, separator).trim();
    const columns = line.slice(separator + 1).trim().split(/\s+/).map(Number);
    // Columns 0 to 7 are receive counters, 8 to 15 transmit counters; bytes come first in each.
    if (name === LOOPBACK_INTERFACE || columns.length < 16 || !Number.isFinite(columns[0]) || !Number.isFinite(columns[8])) {
      continue;
    }

    counters.set(name, { rxBytes: columns[0], txBytes: columns[8] });
  }

  return counters;
}

/**
 * Computes receive and transmit rates summed over interfaces present in both readings.
 * A counter that went down (interface re-created, 32-bit wrap) counts as zero traffic.
 */
export function networkRates(previous: NetworkCounters, current: NetworkCounters, elapsedSeconds: number): NetworkRates {
  let rxBytes = 0;
  let txBytes = 0;

  for (const [name, now] of current) {
    const before = previous.get(name);
    if (!before) {
      continue;
    }
    rxBytes += Math.max(0, now.rxBytes - before.rxBytes);
    txBytes += Math.max(0, now.txBytes - before.txBytes);
  }

  return {
    rxMbPerSecond: rxBytes / BYTES_PER_MB / elapsedSeconds,
    txMbPerSecond: txBytes / BYTES_PER_MB / elapsedSeconds,
  };
}

export async function readNetworkCounters(procRoot: string): Promise<NetworkCounters> {
  return parseNetDev(await readFile(path.join(procRoot, 'net', 'dev'), 'utf8'));
}
