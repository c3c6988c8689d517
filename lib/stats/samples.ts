import { apiErrors } from '@/lib/api/errors';

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

/** The category of a metric key: the part before the first `_` (cpu, gpu, memory, ...). */
export function metricCategory(metric: string): string {
  const separator = metric.indexOf('_');

  return separator === -1 ? metric : metric.slice(0, separator);
}
