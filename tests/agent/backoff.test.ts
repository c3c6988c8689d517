import { describe, expect, it } from 'vitest';

import { backoffDelayMs, callWithRetry, sleep, type RetryEvent } from '../../agent/backoff';
import { nextTickIndex } from '../../agent/reporter';

const OPTIONS = { initialDelayMs: 100, maxDelayMs: 1_000, multiplier: 2 };

describe('backoffDelayMs', () => {
  it('doubles up to the cap', () => {
    const delays = [1, 2, 3, 4, 5, 6].map((attempt) => backoffDelayMs(attempt, OPTIONS, () => 0.999999));

    expect(delays.map(Math.round)).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('stays above half the delay', () => {
    const delays = [1, 2, 3, 4, 5, 6].map((attempt) => backoffDelayMs(attempt, OPTIONS, () => 0));

    expect(delays).toEqual([50, 100, 200, 400, 500, 500]);
  });
});

describe('callWithRetry', () => {
  it('retries until success', async () => {
    const events: RetryEvent[] = [];
    let calls = 0;

    const result = await callWithRetry(
      async () => {
        calls += 1;
        if (calls < 3) {
          throw new Error(`transient ${calls}`);
        }
        return 'done';
      },
      { backoff: { initialDelayMs: 1, maxDelayMs: 4, multiplier: 2 }, isRetryable: () => true, random: () => 0, onRetry: (event) => events.push(event) },
    );

    expect(result).toBe('done');
    expect(calls).toBe(3);
    expect(events.map(({ attempt, delayMs }) => ({ attempt, delayMs }))).toEqual([
      { attempt: 1, delayMs: 1 },
      { attempt: 2, delayMs: 1 },
    ]);
  });

  it('throws non-retryable errors at once', async () => {
    let calls = 0;
    const permanent = new Error('permanent');

    const outcome = callWithRetry(
      async () => {
        calls += 1;
        throw permanent;
      },
      { backoff: OPTIONS, isRetryable: (error) => error !== permanent },
    );

    await expect(outcome).rejects.toBe(permanent);
    expect(calls).toBe(1);
  });

  it('stops after maxAttempts calls', async () => {
    let calls = 0;

    const outcome = callWithRetry(
      async () => {
        calls += 1;
        throw new Error(`down ${calls}`);
      },
      { backoff: { initialDelayMs: 1, maxDelayMs: 1, multiplier: 2 }, isRetryable: () => true, maxAttempts: 3 },
    );

    await expect(outcome).rejects.toThrow('down 3');
    expect(calls).toBe(3);
  });

  it('stops when the signal aborts', async () => {
    const controller = new AbortController();

    const outcome = callWithRetry(
      async () => {
        throw new Error('down');
      },
      {
        backoff: { initialDelayMs: 60_000, maxDelayMs: 60_000, multiplier: 2 },
        isRetryable: () => true,
        signal: controller.signal,
        onRetry: () => controller.abort(new Error('stopped')),
      },
    );

    await expect(outcome).rejects.toThrow('stopped');
  });
});

describe('sleep', () => {
  it('rejects an aborted signal at once', async () => {
    await expect(sleep(60_000, AbortSignal.abort(new Error('already stopped')))).rejects.toThrow('already stopped');
  });
});

describe('nextTickIndex', () => {
  it('advances after an on-time report', () => {
    expect(nextTickIndex(3, 1_000, 1_000 + 3 * 500 + 20, 500)).toBe(4);
  });

  it('never repeats a tick', () => {
    expect(nextTickIndex(3, 1_000, 1_000 + 3 * 500 - 1, 500)).toBe(4);
  });

  it('skips ticks missed while slow', () => {
    expect(nextTickIndex(3, 1_000, 1_000 + 7 * 500 + 1, 500)).toBe(8);
  });

  it('keeps the grid of the origin', () => {
    const ticks = [0, 1, 2].map((tick) => 1_000 + nextTickIndex(tick, 1_000, 1_000 + tick * 500 + 37, 500) * 500);

    expect(ticks).toEqual([1_500, 2_000, 2_500]);
  });
});
