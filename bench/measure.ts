/** Returns the nearest-rank percentile `p` (0 to 1) of `values`, or NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) {
    return Number.NaN;
  }

  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(p * sorted.length));

  return sorted[rank - 1];
}

export function round(value: number, digits = 1): number {
  const scale = 10 ** digits;

  return Math.round(value * scale) / scale;
}

/** Prints one figure as one JSON line on stdout, apart from the progress lines on stderr. */
export function printFigure(figure: string, fields: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ figure, ...fields })}\n`);
}

/** Prints a progress line on stderr, so that stdout carries only the figures. */
export function progress(message: string, fields: Record<string, unknown> = {}): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), msg: message, ...fields })}\n`);
}
