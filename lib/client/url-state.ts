/**
 * Sets or removes query parameters of the current URL without a server round trip.
 * Next.js routes native history calls through its router, so useSearchParams returns the
 * new values. A null or empty value removes the parameter. `push` adds a history entry
 * (the back button restores the previous view); `replace` does not (for typing).
 */
export function updateSearchParams(updates: Record<string, string | null>, mode: 'push' | 'replace'): void {
  const url = new URL(window.location.href);
  for (const [name, value] of Object.entries(updates)) {
    if (value === null || value === '') url.searchParams.delete(name);
    else url.searchParams.set(name, value);
  }

  const target = `${url.pathname}${url.search}${url.hash}`;
  if (mode === 'push') window.history.pushState(null, '', target);
  else window.history.replaceState(null, '', target);
}

/** Path of the worker page for one worker id; URLSearchParams encodes `/`, `:`, `%` and spaces. */
export function workerPageHref(workerId: string): string {
  return `/workers/view?${new URLSearchParams({ id: workerId })}`;
}

/** Path of a queue's row on the queues page; the row's element id is `queue-<id>`. */
export function queuesPageHref(queueId: string): string {
  return `/queues#${queueRowId(queueId)}`;
}

/** Element id of a queue's row on the queues page. */
export function queueRowId(queueId: string): string {
  return `queue-${queueId}`;
}
