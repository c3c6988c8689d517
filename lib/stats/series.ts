import type { Aggregation } from '@/lib/schemas/workers';

/**
 * Points of a series in ascending date order. Each value array aligns with `dates`, or
 * is empty when its aggregation was not requested for the metric.
 */
export interface SeriesPoints {
  /** Bucket starts in seconds since the epoch. */
  dates: number[];
  avg: number[];
  min: number[];
  max: number[];
}

/** One series of get_stats: a worker's metric (or metric and variant), bucket by bucket. */
export interface StatsSeries extends SeriesPoints {
  worker: string;
  /** Index into METRIC_KEYS. */
  metric: number;
  /** The series code (metric and variant) when split by variant, else null. */
  series: number | null;
}

/** The metric indexes requested with each aggregation. */
export type RequestedAggregations = Record<Aggregation, readonly number[]>;

interface CollectedSeries {
  worker: string;
  metric: number;
  series: number | null;
  /** Ascending runs of points, in the order the sources added them. */
  runs: SeriesPoints[];
  /** The run that `push` extends, until another source adds a run. */
  open: SeriesPoints | undefined;
  /** Whether each aggregation's values are kept for this series' metric. */
  keptAggregations: Record<Aggregation, boolean>;
}

/**
 * Collects the points of many series from several sources. Each source adds a series'
 * points as one ascending run: a whole run at once (`append`) or point by point
 * (`push`). Runs of one series may interleave in time, and `finish` merges them.
 * Only the requested aggregations of each metric are kept, and the arrays of the others
 * stay empty. The collector owns the arrays of appended runs and may extend them.
 */
export class SeriesCollector {
  private readonly series = new Map<string, CollectedSeries>();

  /** `aggregations` unset keeps all three aggregations of every metric. */
  constructor(private readonly aggregations?: RequestedAggregations) {}

  /** Returns the series of a worker and metric (or series code), created empty on first use. */
  entry(worker: string, metric: number, code: number | null): CollectedSeries {
    const key = `${worker}\u0000${code ?? metric}`;
    let entry = this.series.get(key);
    if (!entry) {
      const isKept = (aggregation: Aggregation) => this.aggregations?.[aggregation].includes(metric) ?? true;
      entry = {
        worker,
        metric,
        series: code,
        runs: [],
        open: undefined,
        keptAggregations: { avg: isKept('avg'), min: isKept('min'), max: isKept('max') },
      };
      this.series.set(key, entry);
    }

    return entry;
  }

  /** Adds an ascending run of points, whose value arrays hold the kept aggregations only. */
  append(worker: string, metric: number, points: SeriesPoints): void {
    if (points.dates.length === 0) {
      return;
    }
    const entry = this.entry(worker, metric, null);
    entry.runs.push(points);
    entry.open = undefined;
  }

  /** Adds a point after the last one pushed to the series, dropping the values of aggregations not kept. */
  static push(entry: CollectedSeries, date: number, avg: number, min: number, max: number): void {
    let run = entry.open;
    if (!run) {
      run = { dates: [], avg: [], min: [], max: [] };
      entry.runs.push(run);
      entry.open = run;
    }

    run.dates.push(date);
    if (entry.keptAggregations.avg) {
      run.avg.push(avg);
    }
    if (entry.keptAggregations.min) {
      run.min.push(min);
    }
    if (entry.keptAggregations.max) {
      run.max.push(max);
    }
  }

  /** Returns every series that received points, each as one ascending run. */
  finish(): StatsSeries[] {
    const found: StatsSeries[] = [];
    for (const { worker, metric, series, runs } of this.series.values()) {
      if (runs.length > 0) {
        found.push({ worker, metric, series, ...mergeRuns(runs) });
      }
    }

    return found;
  }
}

/** Returns the index of the first date in `dates[from..]` that is above `date` (`orEqual`: at or above). */
function firstAfter(dates: number[], date: number, from: number, orEqual: boolean): number {
  let low = from;
  let high = dates.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (dates[middle] > date || (orEqual && dates[middle] === date)) {
      high = middle;
    } else {
      low = middle + 1;
    }
  }

  return low;
}

/** A stretch of a run's points, [start, end). */
interface Stretch {
  run: SeriesPoints;
  start: number;
  end: number;
}

/**
 * Merges ascending runs into one. The merge walks the runs by stretches: the run with
 * the earliest next point gives all its points up to the next point of any other run,
 * found by binary search. Runs that follow each other in time are thus copied whole.
 * Points of equal date keep the earlier run's first.
 */
export function mergeRuns(runs: readonly SeriesPoints[]): SeriesPoints {
  if (runs.length <= 1) {
    return runs[0] ?? { dates: [], avg: [], min: [], max: [] };
  }

  return extendLongestRun(runs) ?? mergeByStretches(runs);
}

/**
 * Merges the runs other than the longest one and, when their points all lie before or
 * after the longest run, adds them to its arrays in place. This is the usual case of a
 * series read from chunks with raw edges at both ends, and it spares copying the long
 * run. Returns undefined when the points interleave.
 */
function extendLongestRun(runs: readonly SeriesPoints[]): SeriesPoints | undefined {
  const longest = runs.reduce((found, run) => (run.dates.length > found.dates.length ? run : found));
  const others = mergeByStretches(runs.filter((run) => run !== longest));
  const first = longest.dates[0];
  const last = longest.dates[longest.dates.length - 1];
  const before = firstAfter(others.dates, first, 0, true);
  const after = firstAfter(others.dates, last, before, false);
  if (before !== after) {
    return undefined;
  }

  for (const name of ['dates', 'avg', 'min', 'max'] as const) {
    if (longest[name].length > 0) {
      prepend(longest[name], others[name], before);
      for (let index = after; index < others[name].length; index++) {
        longest[name].push(others[name][index]);
      }
    }
  }

  return longest;
}

/** Values spread into one call of `unshift`: in Node.js 20 a spread of 200,000 overflowed the call stack. */
const PREPEND_BATCH = 10_000;

/** Inserts `source[0..count)` in order at the front of `target`, in batches from the back. */
function prepend(target: number[], source: number[], count: number): void {
  for (let end = count; end > 0; end -= PREPEND_BATCH) {
    target.unshift(...source.slice(Math.max(0, end - PREPEND_BATCH), end));
  }
}

function mergeByStretches(runs: readonly SeriesPoints[]): SeriesPoints {
  if (runs.length <= 1) {
    return runs[0] ?? { dates: [], avg: [], min: [], max: [] };
  }

  const positions = runs.map(() => 0);
  const head = (run: number) => runs[run].dates[positions[run]];
  const earliest = (except: number) => {
    let found = -1;
    for (let run = 0; run < runs.length; run++) {
      if (run !== except && positions[run] < runs[run].dates.length && (found === -1 || head(run) < head(found))) {
        found = run;
      }
    }
    return found;
  };

  const stretches: Stretch[] = [];
  for (let next = earliest(-1); next !== -1; next = earliest(-1)) {
    const other = earliest(next);
    const dates = runs[next].dates;
    // On a tie with the other run's next point, the earlier run's points come first.
    const end = other === -1 ? dates.length : firstAfter(dates, head(other), positions[next], other < next);
    stretches.push({ run: runs[next], start: positions[next], end });
    positions[next] = end;
  }

  const total = runs.reduce((sum, run) => sum + run.dates.length, 0);
  const column = (name: keyof SeriesPoints): number[] => {
    if (runs.every((run) => run[name].length === 0)) {
      return [];
    }
    const values = new Array<number>(total);
    let out = 0;
    for (const { run, start, end } of stretches) {
      const source = run[name];
      for (let index = start; index < end; index++) {
        values[out++] = source[index];
      }
    }

    return values;
  };

  return { dates: column('dates'), avg: column('avg'), min: column('min'), max: column('max') };
}
