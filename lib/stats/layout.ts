import { createHash } from 'node:crypto';

import { METRIC_KEYS, type MachineStats, type MetricKey } from '@/lib/schemas/workers';

/**
 * Slots per metric in a series code: code = metric index * SERIES_STRIDE + slot, where
 * slot 0 is a scalar (variant `total`) and slot i + 1 is device i. Arrays longer than
 * SERIES_STRIDE - 1 cannot be encoded; the request schema rejects them first.
 */
export const SERIES_STRIDE = 2048;

/** The layout of a report without samples: it counts as activity only. */
export const EMPTY_LAYOUT_ID = 0;

/** The samples of one report: `values[i]` is the sample of series `series[i]`. */
export interface EncodedSamples {
  layoutId: number;
  series: number[];
  /** The distinct metric indexes of `series`, ascending. */
  metrics: number[];
  values: number[];
}

/**
 * Returns the id of a layout: the first 48 bits of the MD5 of its series codes, so that
 * every instance computes the same id without a round trip. The same formula in SQL:
 * ('x' || left(md5(array_to_string(series, ',')), 12))::bit(48)::bigint.
 */
export function layoutId(series: readonly number[]): number {
  if (series.length === 0) {
    return EMPTY_LAYOUT_ID;
  }

  const digest = createHash('md5').update(series.join(',')).digest('hex');

  return Number.parseInt(digest.slice(0, 12), 16);
}

/**
 * Flushes a value too small for float4 to 0, which is what float4 rounding makes of it:
 * PostgreSQL rejects such a value instead of rounding it.
 */
function toFloat4Range(value: number): number {
  return Math.fround(value) === 0 ? 0 : value;
}

/**
 * Encodes machine_stats into one layout and one value list, metrics in METRIC_KEYS order.
 * A number is variant `total`, an array one value per device. Absent and empty fields
 * produce no samples, while a value of 0 is a real sample and is kept.
 */
export function encodeSamples(stats: MachineStats | undefined): EncodedSamples {
  const series: number[] = [];
  const values: number[] = [];

  METRIC_KEYS.forEach((metric, metricIndex) => {
    const value = stats?.[metric];
    if (value === undefined) {
      return;
    }
    if (typeof value === 'number') {
      series.push(metricIndex * SERIES_STRIDE);
      values.push(toFloat4Range(value));
      return;
    }
    value.forEach((item, device) => {
      series.push(metricIndex * SERIES_STRIDE + device + 1);
      values.push(toFloat4Range(item));
    });
  });

  const metrics = [...new Set(series.map((code) => Math.floor(code / SERIES_STRIDE)))];

  return { layoutId: layoutId(series), series, metrics, values };
}

/** Decodes a series code into its metric key and variant (`total`, "0", "1", ...). */
export function decodeSeries(code: number): { metric: MetricKey; variant: string } {
  const metric = METRIC_KEYS[Math.floor(code / SERIES_STRIDE)];
  const slot = code % SERIES_STRIDE;

  return { metric, variant: slot === 0 ? 'total' : String(slot - 1) };
}

/** Returns the index of a metric key in METRIC_KEYS, which series codes are built from. */
export function metricIndex(metric: MetricKey): number {
  return METRIC_KEYS.indexOf(metric);
}
