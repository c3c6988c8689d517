export interface BackoffOptions {
  /** Delay before the first retry, in milliseconds, before jitter. */
  initialDelayMs: number;
  /** Upper bound of any delay, in milliseconds. */
  maxDelayMs: number;
  /** Factor applied to the delay after each failed attempt. */
  multiplier: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = {
  initialDelayMs: 1_000,
  maxDelayMs: 60_000,
  multiplier: 2,
};

/**
 * Computes the delay before retry number `attempt` (1 for the first retry), in
 * milliseconds: exponential growth capped at `maxDelayMs`, with "equal jitter", so the
 * delay is uniform in [half, all] of the capped value. Jitter keeps a fleet that lost
 * its server at the same moment from retrying in lockstep; the lower half-bound keeps
 * delays growing. `random` returns a number in [0, 1), like Math.random.
 */
export function backoffDelayMs(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const exponent = Math.max(0, attempt - 1);
  const capped = Math.min(options.maxDelayMs, options.initialDelayMs * options.multiplier ** exponent);

  return capped / 2 + random() * (capped / 2);
}

/**
 * Resolves after `ms` milliseconds, or rejects with the signal's reason as soon as
 * `signal` aborts.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }

    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** One failed attempt that callWithRetry is about to repeat. */
export interface RetryEvent {
  /** Number of the retry about to happen, from 1. */
  attempt: number;
  delayMs: number;
  error: unknown;
}

export interface RetryOptions {
  backoff: BackoffOptions;
  /** Returns whether an error is transient; other errors are thrown at once. */
  isRetryable: (error: unknown) => boolean;
  /** Source of jitter, in [0, 1). */
  random?: () => number;
  /** Ends the retries: the pending delay rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called before each delay, for logging and counting. */
  onRetry?: (event: RetryEvent) => void;
  /** Attempts before the last error is thrown, the first call included; unlimited by default. */
  maxAttempts?: number;
}

/**
 * Runs `call` until it resolves, throws an error that `isRetryable` rejects, `signal`
 * aborts or `maxAttempts` calls failed, waiting backoffDelayMs() between attempts.
 */
export async function callWithRetry<T>(call: () => Promise<T>, options: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await call();
    } catch (error) {
      const attemptsLeft = attempt < (options.maxAttempts ?? Number.POSITIVE_INFINITY);
      if (options.signal?.aborted || !attemptsLeft || !options.isRetryable(error)) {
        throw error;
      }

      const delayMs = Math.round(backoffDelayMs(attempt, options.backoff, options.random));
      options.onRetry?.({ attempt, delayMs, error });
      await sleep(delayMs, options.signal);
    }
  }
}
