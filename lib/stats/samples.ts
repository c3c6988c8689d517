import type { StatsRow } from '@/db/stats';
import { apiErrors } from '@/lib/api/errors';
import { METRIC_KEYS, type MachineStats } from '@/lib/schemas/workers';

/** Timestamps at or above this are milliseconds (10^11 s is the year 5138). */
export const MILLISECONDS_THRESHOLD = 1e11;

/** How far in the future a report timestamp may lie, in milliseconds. */
export const MAX_FUTURE_SKEW_MS = 24 * 60 * 60 * 1000;

/**
 * Converts a report's `timestamp` to a Date. The schema specifies seconds, but clearml-agent
 * sends milliseconds, so values of 10^11 or more are read as milliseconds. Negative
 * values and values more than a day ahead of `now` are rejected with 400/12.
 */
export function reportTime(timestamp: number, now: Date): Date {
  if (timestamp < 0) {
    throw apiErrors.validation('timestamp', timestamp, 'must not be negative');
  }

  const milliseconds = timestamp >= MILLISECONDS_THRESHOLD ? timestamp : timestamp * 1000;
  if (milliseconds > now.getTime() + MAX_FUTURE_SKEW_MS) {
    throw apiErrors.validation(
      'timestamp',
      timestamp,
      `lies more than one day after the server time ${now.toISOString()} (send seconds or milliseconds since the epoch)`,
    );
  }

  return new Date(milliseconds);
}

/**
 * Turns machine_stats into stored rows, one per metric. A number is variant `total`;
 * an array gives one value per device. Absent and empty fields produce no row, while
 * a value of 0 is a real sample and is kept.
 */
export function machineStatsToRows(stats: MachineStats | undefined): StatsRow[] {
  if (!stats) {
    return [];
  }

  const rows: StatsRow[] = [];
  for (const metric of METRIC_KEYS) {
    const value = stats[metric];
    if (value === undefined) {
      continue;
    }
    if (typeof value === 'number') {
      rows.push({ metric, scalar: true, values: [toFloat4Range(value)] });
    } else if (value.length > 0) {
      rows.push({ metric, scalar: false, values: value.map(toFloat4Range) });
    }
  }

  return rows;
}

/**
 * Flushes a value too small for float4 to 0, which is what float4 rounding makes of it:
 * PostgreSQL rejects such a value instead of rounding it.
 */
function toFloat4Range(value: number): number {
  return Math.fround(value) === 0 ? 0 : value;
}

/** The category of a metric key: the part before the first `_` (cpu, gpu, memory, ...). */
export function metricCategory(metric: string): string {
  const separator = metric.indexOf('_');

  return separator === -1 ? metric : metric.slice(0, separator);
}
