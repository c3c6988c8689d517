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

/**
 * Points of a run as a source adds them: plain arrays, or typed arrays that the
 * collector copies into plain ones. A Float64Array of more than a few values keeps its
 * elements outside the JavaScript heap, so a source can hold decoded values there
 * without the young-generation collections copying them.
 */
export interface RunPoints {
  dates: ArrayLike<number>;
  avg: ArrayLike<number>;
  min: ArrayLike<number>;
  max: ArrayLike<number>;
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
  runs: RunPoints[];
  /** The run that `push` extends, until another source adds a run. */
  open: SeriesPoints | undefined;
  /** Whether each aggregation's values are kept for this series' metric. */
  keptAggregations: Record<Aggregation, boolean>;
}

/** Distinct date arrays kept per worker for sharing: its series usually have one or two. */
const SHARED_DATES_PER_WORKER = 4;

/**
 * Collects the points of many series from several sources. Each source adds a series'
 * points as one ascending run: a whole run at once (`append`) or point by point
 * (`push`). Runs of one series may interleave in time, and `finish` merges them.
 * Only the requested aggregations of each metric are kept, and the arrays of the others
 * stay empty.
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

  /**
   * Adds an ascending run of points, whose value arrays hold the kept aggregations only.
   * The collector reads the arrays until `finish` and does not change them.
   */
  append(worker: string, metric: number, points: RunPoints): void {
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

  /**
   * Returns every series that received points, each as one ascending run. Series of a
   * worker whose dates are equal share one `dates` array: a worker usually reports all
   * its metrics in each report, and a week at 300 s would otherwise repeat its dates
   * once per metric.
   */
  finish(): StatsSeries[] {
    const found: StatsSeries[] = [];
    const datesByWorker = new Map<string, number[][]>();
    for (const { worker, metric, series, runs } of this.series.values()) {
      if (runs.length === 0) {
        continue;
      }

      const shared = datesByWorker.get(worker) ?? [];
      const merged = mergeRuns(runs, shared);
      if (!shared.includes(merged.dates) && shared.length < SHARED_DATES_PER_WORKER) {
        shared.push(merged.dates);
        datesByWorker.set(worker, shared);
      }
      found.push({ worker, metric, series, ...merged });
    }

    return found;
  }
}

/** Returns the index of the first date in `dates[from..]` that is above `date` (`orEqual`: at or above). */
function firstAfter(dates: ArrayLike<number>, date: number, from: number, orEqual: boolean): number {
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
  run: RunPoints;
  start: number;
  end: number;
}

function isPlain(points: RunPoints): points is SeriesPoints {
  return Array.isArray(points.dates) && Array.isArray(points.avg) && Array.isArray(points.min) && Array.isArray(points.max);
}

/**
 * Merges ascending runs into one. The merge walks the runs by stretches: the run with
 * the earliest next point gives all its points up to the next point of any other run,
 * found by binary search. Runs that follow each other in time are thus copied whole.
 * Points of equal date keep the earlier run's first. A single run of plain arrays is
 * returned as it is. Otherwise the arrays are new, except the dates, which are the
 * array of `sharedDates` that equals them when there is one.
 */
export function mergeRuns(runs: readonly RunPoints[], sharedDates: readonly number[][] = []): SeriesPoints {
  if (runs.length === 0) {
    return { dates: [], avg: [], min: [], max: [] };
  }
  if (runs.length === 1 && isPlain(runs[0])) {
    return runs[0];
  }

  const stretches = orderStretches(runs);
  const total = runs.reduce((sum, run) => sum + run.dates.length, 0);
  const column = (name: keyof RunPoints): number[] => {
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

  return {
    dates: sharedDates.find((dates) => datesEqual(dates, stretches, total)) ?? column('dates'),
    avg: column('avg'),
    min: column('min'),
    max: column('max'),
  };
}

/** Splits the runs into stretches in the merged order. */
function orderStretches(runs: readonly RunPoints[]): Stretch[] {
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

  return stretches;
}

/** Returns whether `dates` equals the dates of the stretches, `total` in all. */
function datesEqual(dates: readonly number[], stretches: readonly Stretch[], total: number): boolean {
  if (dates.length !== total) {
    return false;
  }

  let out = 0;
  for (const { run, start, end } of stretches) {
    for (let index = start; index < end; index++) {
      if (run.dates[index] !== dates[out++]) {
        return false;
      }
    }
  }

  return true;
}
