'use client';

import Link from 'next/link';
import type { ReactNode } from 'react';

import { useQueuesOverview, WORKERS_REFRESH_MS } from '@/lib/client/queries';
import type { QueueRow } from '@/lib/client/queue-rows';
import { queueRowId, workerPageHref } from '@/lib/client/url-state';

import { EmptyState, ErrorState, LoadingState, StaleDataWarning } from './query-states';

function NextTaskCell({ nextTask }: { nextTask: QueueRow['nextTask'] }) {
  if (!nextTask) return <span className="muted">none</span>;

  return <span title={nextTask.id}>{nextTask.name ?? nextTask.id}</span>;
}

function WorkersCell({ workers }: { workers: QueueRow['workers'] }) {
  if (workers.length === 0) return <span className="muted">none</span>;

  return (
    <ul className="inline-list">
      {workers.map((worker) => (
        <li key={worker.key}>
          <Link href={workerPageHref(worker.id)}>{worker.id}</Link>
        </li>
      ))}
    </ul>
  );
}

/** Renders the queues table: each queue with its length, its next task and the workers listening on it. */
function QueuesTable({ queues }: { queues: readonly QueueRow[] }) {
  return (
    <div className="table-wrapper">
      <table className="data-table">
        <caption className="visually-hidden">Queues</caption>
        <thead>
          <tr>
            <th scope="col">Queue</th>
            <th scope="col">Length</th>
            <th scope="col">Next task</th>
            <th scope="col">Workers listening</th>
          </tr>
        </thead>
        <tbody>
          {queues.map((queue) => (
            <tr key={queue.id} id={queueRowId(queue.id)}>
              <th scope="row" title={queue.id}>
                {queue.displayName ?? queue.name}
                {queue.displayName ? <span className="muted"> ({queue.name})</span> : null}
              </th>
              <td className="numeric">{queue.length}</td>
              <td>
                <NextTaskCell nextTask={queue.nextTask} />
              </td>
              <td>
                <WorkersCell workers={queue.workers} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Renders the queues page, refreshed every 5 s. */
export function QueuesOverview() {
  const queues = useQueuesOverview();

  let content: ReactNode;
  if (queues.isPending) {
    content = <LoadingState label="Loading queues…" />;
  } else if (queues.isError && !queues.data) {
    content = (
      <ErrorState
        title="Could not load the queues"
        error={queues.error}
        onRetry={() => void queues.refetch()}
        retrying={queues.isFetching}
      />
    );
  } else if (queues.data.length === 0) {
    content = (
      <EmptyState title="No queues">
        Queues appear here when a daemon or an operator creates one, for example with{' '}
        <code>queues.create</code> or the simulated fleet <code>npm run demo -- --server http://host:port</code>.
      </EmptyState>
    );
  } else {
    content = <QueuesTable queues={queues.data} />;
  }

  const count = queues.data?.length ?? 0;

  return (
    <>
      <div className="page-heading">
        <h1>Queues</h1>
        {queues.data ? <p className="page-count">{count === 1 ? '1 queue' : `${count} queues`}</p> : null}
      </div>
      <p className="toolbar-note">Refreshed every {WORKERS_REFRESH_MS / 1000} s.</p>
      {queues.isError && queues.data ? (
        <StaleDataWarning
          error={queues.error}
          updatedAt={queues.dataUpdatedAt}
          onRetry={() => void queues.refetch()}
          retrying={queues.isFetching}
        />
      ) : null}
      {content}
    </>
  );
}
