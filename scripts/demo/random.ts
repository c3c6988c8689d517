/** Returns a seeded generator of numbers in [0, 1) (mulberry32), so a seed always builds the same fleet. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;

  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Hashes integers to a number in [0, 1). The simulation's noise is a function of
 * (worker, channel, time), not of call order, so a timestamp gives the same value in
 * the backfill and in live reports.
 */
export function hashToUnit(...values: number[]): number {
  let hash = 0x811c9dc5;
  for (const value of values) {
    hash = Math.imul(hash ^ (value | 0), 0x01000193);
    hash = Math.imul(hash ^ Math.floor(value / 4294967296), 0x01000193);
    hash ^= hash >>> 13;
    hash = Math.imul(hash, 0x5bd1e995);
    hash ^= hash >>> 15;
  }

  return (hash >>> 0) / 4294967296;
}

/**
 * Returns noise in [0, 1) that changes smoothly over `scaleMs` milliseconds: values
 * hashed at knots `scaleMs` apart, joined by cosine interpolation.
 */
export function smoothNoise(seed: number, channel: number, timeMs: number, scaleMs: number): number {
  const position = timeMs / scaleMs;
  const knot = Math.floor(position);
  const fraction = position - knot;
  const weight = (1 - Math.cos(Math.PI * fraction)) / 2;

  return hashToUnit(seed, channel, knot) * (1 - weight) + hashToUnit(seed, channel, knot + 1) * weight;
}
