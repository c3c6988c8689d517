'use client';

import Link from 'next/link';

import { formatDateTime, formatRunningTime, formatTimeAgo } from '@/lib/client/format';
import { queuesPageHref, workerPageHref } from '@/lib/client/url-state';
import type { WorkerEntry } from '@/lib/schemas/workers';

import { TagList } from './tag-list';

interface WorkersTableProps {
  workers: readonly WorkerEntry[];
  /** Current time in milliseconds, for the "last activity" column. */
  nowMs: number;
}

/**
 * Renders the queue the worker took its task from, else the queues it listens on, dimmed.
 * A queue that was deleted shows its id.
 */
function QueueCell({ worker }: { worker: WorkerEntry }) {
  if (worker.queue) {
    return (
      <Link href={queuesPageHref(worker.queue.id)} title={worker.queue.id}>
        {worker.queue.name ?? worker.queue.id}
      </Link>
    );
  }
  if (worker.queues.length === 0) return <span className="muted">none</span>;

  return (
    <span className="muted" title="listens on these queues">
      {worker.queues.map((queue) => queue.name ?? queue.id).join(', ')}
    </span>
  );
}

/** Renders the task's name (its id when the task was deleted), else "idle". */
function TaskCell({ task }: { task: WorkerEntry['task'] }) {
  if (!task) return <span className="muted">idle</span>;

  return <span title={task.id}>{task.name ?? task.id}</span>;
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
            <th scope="col">Running time</th>
            <th scope="col">Iteration</th>
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
                <TaskCell task={worker.task} />
              </td>
              <td className="numeric">
                {worker.task?.running_time !== undefined ? formatRunningTime(worker.task.running_time) : null}
              </td>
              <td className="numeric">{worker.task?.last_iteration ?? null}</td>
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
