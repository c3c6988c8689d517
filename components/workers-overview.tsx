'use client';

import { useSearchParams } from 'next/navigation';
import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';

import { useLiveWorkers, WORKERS_REFRESH_MS } from '@/lib/client/queries';
import { updateSearchParams } from '@/lib/client/url-state';
import { useNow } from '@/lib/client/use-now';

import { EmptyState, ErrorState, LoadingState, StaleDataWarning } from './query-states';
import { WorkersTable } from './workers-table';

/** URL parameter that keeps the worker id filter, a glob with `*` and `?`. */
const PATTERN_PARAM = 'pattern';

/** Typing pauses this long (milliseconds) before the filter reaches the URL and the server. */
const FILTER_DEBOUNCE_MS = 250;

/**
 * Keeps the filter box and the URL in step: typing writes the URL after a pause, and a
 * URL change that did not come from typing (a nav link, back button) resets the box.
 */
function useUrlPatternFilter(): [draft: string, setDraft: (value: string) => void, pattern: string] {
  const searchParams = useSearchParams();
  const pattern = searchParams.get(PATTERN_PARAM) ?? '';
  const [draft, setDraft] = useState(pattern);
  const lastWritten = useRef(pattern);

  useEffect(() => {
    if (pattern === lastWritten.current) return;
    lastWritten.current = pattern;
    setDraft(pattern);
  }, [pattern]);

  useEffect(() => {
    if (draft === lastWritten.current) return;

    const timer = setTimeout(() => {
      lastWritten.current = draft;
      updateSearchParams({ [PATTERN_PARAM]: draft }, 'replace');
    }, FILTER_DEBOUNCE_MS);

    return () => clearTimeout(timer);
  }, [draft]);

  return [draft, setDraft, pattern];
}

/** Renders the workers page: filter box, count and the live workers table, refreshed every 5 s. */
export function WorkersOverview() {
  const [draft, setDraft, pattern] = useUrlPatternFilter();
  const workers = useLiveWorkers(pattern);
  const nowMs = useNow();
  const sortedWorkers = useMemo(
    () => [...(workers.data?.workers ?? [])].sort((left, right) => left.id.localeCompare(right.id)),
    [workers.data],
  );

  let content: ReactNode;
  if (workers.isPending) {
    content = <LoadingState label="Loading workers…" />;
  } else if (workers.isError && !workers.data) {
    content = (
      <ErrorState
        title="Could not load the workers"
        error={workers.error}
        onRetry={() => void workers.refetch()}
        retrying={workers.isFetching}
      />
    );
  } else if (sortedWorkers.length === 0) {
    content =
      pattern === '' ? (
        <EmptyState title="No live workers">
          Workers appear here when a daemon registers, for example{' '}
          <code>npm run agent -- --server http://host:port</code> or the simulated fleet{' '}
          <code>npm run demo -- --server http://host:port</code>.
        </EmptyState>
      ) : (
        <EmptyState title="No live worker matches this filter">
          The filter <code>{pattern}</code> is matched against the whole worker id: <code>*</code> matches any
          run of characters and <code>?</code> exactly one.
        </EmptyState>
      );
  } else {
    content = <WorkersTable workers={sortedWorkers} nowMs={nowMs} />;
  }

  const count = sortedWorkers.length;
  let countLabel = count === 1 ? '1 worker matches' : `${count} workers match`;
  if (pattern === '') countLabel = count === 1 ? '1 worker live' : `${count} workers live`;

  return (
    <>
      <div className="page-heading">
        <h1>Workers</h1>
        {workers.data ? (
          <p className="page-count">{countLabel}</p>
        ) : null}
      </div>
      <div className="toolbar">
        <label className="field">
          <span className="field-label">Filter by worker id</span>
          <input
            type="search"
            className="input"
            value={draft}
            onChange={(event) => setDraft(event.target.value)}
            placeholder="e.g. gpu-*:gpu? or *:cpu"
            spellCheck={false}
            autoComplete="off"
          />
        </label>
        <p className="toolbar-note">
          Refreshed every {WORKERS_REFRESH_MS / 1000} s. Use * for any run of characters and ? for one.
        </p>
      </div>
      {workers.isError && workers.data ? (
        <StaleDataWarning
          error={workers.error}
          updatedAt={workers.dataUpdatedAt}
          onRetry={() => void workers.refetch()}
          retrying={workers.isFetching}
        />
      ) : null}
      {content}
    </>
  );
}
