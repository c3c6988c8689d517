/** Calls `run` on every item, at most `concurrency` at a time, and rejects on the first failure. */
export async function runPool<T>(items: T[], concurrency: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const runNext = async () => {
    while (next < items.length) {
      const item = items[next];
      next += 1;
      await run(item);
    }
  };

  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, runNext));
}
