/**
 * Formats how long ago `isoTime` was, relative to `nowMs`: "12 s ago", "5 min ago",
 * "3 h ago", "2 d ago". A time ahead of `nowMs` (clock skew between browser and server)
 * reads as "0 s ago".
 */
export function formatTimeAgo(isoTime: string, nowMs: number): string {
  const seconds = Math.max(0, Math.floor((nowMs - Date.parse(isoTime)) / 1000));
  if (Number.isNaN(seconds)) return 'unknown';

  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3_600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3_600)} h ago`;

  return `${Math.floor(seconds / 86_400)} d ago`;
}

/** Formats a duration in seconds as "45 s", "12 min", "3 h 20 min" or "2 d 4 h". */
export function formatDuration(totalSeconds: number): string {
  const seconds = Math.max(0, Math.floor(totalSeconds));
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3_600) return `${Math.floor(seconds / 60)} min`;

  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3_600);
  const minutes = Math.floor((seconds % 3_600) / 60);
  if (days > 0) return hours > 0 ? `${days} d ${hours} h` : `${days} d`;

  return minutes > 0 ? `${hours} h ${minutes} min` : `${hours} h`;
}

/**
 * Formats a task's running time, given in milliseconds as get_all sends it, as
 * "8h 22m 26s", "22m 26s" or "26s". Hours are not folded into days.
 */
export function formatRunningTime(milliseconds: number): string {
  const seconds = Math.max(0, Math.floor(milliseconds / 1000));
  const hours = Math.floor(seconds / 3_600);
  const minutes = Math.floor((seconds % 3_600) / 60);
  const rest = seconds % 60;
  if (hours > 0) return `${hours}h ${minutes}m ${rest}s`;
  if (minutes > 0) return `${minutes}m ${rest}s`;

  return `${rest}s`;
}

// A fixed locale keeps 24-hour times and day-month order whatever the browser's language.
const timeFormat = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit' });
const dayTimeFormat = new Intl.DateTimeFormat('en-GB', {
  weekday: 'short',
  hour: '2-digit',
  minute: '2-digit',
});
const dateTimeFormat = new Intl.DateTimeFormat('en-GB', {
  year: 'numeric',
  month: 'short',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

/** Formats an axis tick in the browser's time zone; ranges over a day also show the weekday. */
export function formatAxisTime(timeMs: number, rangeSeconds: number): string {
  return rangeSeconds > 86_400 ? dayTimeFormat.format(timeMs) : timeFormat.format(timeMs);
}

/** Formats a full local date and time, for tooltips and details. */
export function formatDateTime(timeMs: number): string {
  return dateTimeFormat.format(timeMs);
}

/** Formats a metric value with its unit, keeping about three significant digits. */
export function formatMetricValue(value: number, unit: string): string {
  const magnitude = Math.abs(value);
  let digits = 0;
  if (magnitude < 10) digits = 2;
  else if (magnitude < 100) digits = 1;
  const separator = unit === '%' || unit === '°C' ? '' : ' ';

  return `${value.toFixed(digits)}${separator}${unit}`;
}

/** Tick spacings in seconds for time axes, ascending. */
const TICK_STEPS = [60, 300, 600, 900, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200, 86_400];

/**
 * Time axis ticks (milliseconds) between `fromMs` and `toMs`: at most `maxTicks`, on round
 * local times (whole minutes, hours, midnights). Local time uses the browser's current
 * UTC offset, so ticks shift by the DST change on the day it happens.
 */
export function buildTimeTicks(fromMs: number, toMs: number, maxTicks = 8): number[] {
  const spanSeconds = (toMs - fromMs) / 1000;
  const stepSeconds = TICK_STEPS.find((step) => spanSeconds / step <= maxTicks) ?? Math.ceil(spanSeconds / maxTicks);
  const stepMs = stepSeconds * 1000;
  const offsetMs = new Date(fromMs).getTimezoneOffset() * 60_000;

  const ticks: number[] = [];
  for (let tick = Math.ceil((fromMs - offsetMs) / stepMs) * stepMs + offsetMs; tick <= toMs; tick += stepMs) {
    ticks.push(tick);
  }

  return ticks;
}
