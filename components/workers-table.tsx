'use client';

import Link from 'next/link';

import { formatDateTime, formatTimeAgo } from '@/lib/client/format';
import { workerPageHref } from '@/lib/client/url-state';
import type { WorkerEntry } from '@/lib/schemas/workers';

import { TagList } from './tag-list';

interface WorkersTableProps {
  workers: readonly WorkerEntry[];
  /** Current time in milliseconds, for the "last activity" column. */
  nowMs: number;
}

/** Renders the queue the worker took its task from, else the queues it listens on, dimmed. */
function QueueCell({ worker }: { worker: WorkerEntry }) {
  if (worker.queue) return <>{worker.queue.name ?? worker.queue.id}</>;
  if (worker.queues.length === 0) return <span className="muted">none</span>;

  return (
    <span className="muted" title="listens on these queues">
      {worker.queues.map((queue) => queue.name ?? queue.id).join(', ')}
    </span>
  );
}

/** Renders the live workers, one row each, with ids linking to the worker page. */
export function WorkersTable({ workers, nowMs }: WorkersTableProps) {
  return (
    <div className="table-wrapper">
      <table className="data-table">
        <caption className="visually-hidden">Live workers</caption>
        <thead>
          <tr>
            <th scope="col">Worker</th>
            <th scope="col">User</th>
            <th scope="col">IP</th>
            <th scope="col">Task</th>
            <th scope="col">Queue</th>
            <th scope="col">Last activity</th>
            <th scope="col">Tags</th>
          </tr>
        </thead>
        <tbody>
          {workers.map((worker) => (
            <tr key={worker.key}>
              <th scope="row" className="worker-id">
                <Link href={workerPageHref(worker.id)}>{worker.id}</Link>
              </th>
              <td>{worker.user.name ?? worker.user.id}</td>
              <td className="mono">{worker.ip ?? <span className="muted">unknown</span>}</td>
              <td>
                {worker.task ? (
                  <span title={worker.task.id}>{worker.task.name ?? worker.task.id}</span>
                ) : (
                  <span className="muted">idle</span>
                )}
              </td>
              <td>
                <QueueCell worker={worker} />
              </td>
              <td>
                <time
                  dateTime={worker.last_activity_time}
                  title={formatDateTime(Date.parse(worker.last_activity_time))}
                >
                  {formatTimeAgo(worker.last_activity_time, nowMs)}
                </time>
              </td>
              <td>
                <TagList tags={worker.tags} systemTags={worker.system_tags} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
