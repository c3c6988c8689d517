import Link from 'next/link';
import type { ReactNode } from 'react';

import { formatDateTime, formatRunningTime, formatTimeAgo } from '@/lib/client/format';
import { queuesPageHref } from '@/lib/client/url-state';
import type { WorkerEntry } from '@/lib/schemas/workers';

import { TagList } from './tag-list';

function DetailRow({ term, children }: { term: string; children: ReactNode }) {
  return (
    <div className="detail-row">
      <dt>{term}</dt>
      <dd>{children}</dd>
    </div>
  );
}

function TimeDetail({ isoTime, nowMs }: { isoTime: string; nowMs: number }) {
  return (
    <time dateTime={isoTime}>
      {formatDateTime(Date.parse(isoTime))} <span className="muted">({formatTimeAgo(isoTime, nowMs)})</span>
    </time>
  );
}

const none = <span className="muted">none</span>;

/** Renders the get_all entry of a live worker as a description list. */
export function WorkerDetails({ worker, nowMs }: { worker: WorkerEntry; nowMs: number }) {
  const queues = worker.queues.map((queue) => queue.name ?? queue.id).join(', ');

  return (
    <dl className="details">
      <DetailRow term="User">{worker.user.name ?? worker.user.id}</DetailRow>
      <DetailRow term="IP">{worker.ip ?? none}</DetailRow>
      <DetailRow term="Task">
        {worker.task ? (
          <>
            {worker.task.name ?? worker.task.id}
            {worker.task.running_time !== undefined ? (
              <span className="muted"> · running {formatRunningTime(worker.task.running_time)}</span>
            ) : null}
            {worker.task.last_iteration !== undefined ? (
              <span className="muted"> · iteration {worker.task.last_iteration}</span>
            ) : null}
          </>
        ) : (
          <span className="muted">idle</span>
        )}
      </DetailRow>
      <DetailRow term="Project">{worker.project ? (worker.project.name ?? worker.project.id) : none}</DetailRow>
      <DetailRow term="Current queue">
        {worker.queue ? <Link href={queuesPageHref(worker.queue.id)}>{worker.queue.name ?? worker.queue.id}</Link> : none}
      </DetailRow>
      <DetailRow term="Listens on">{queues === '' ? none : queues}</DetailRow>
      <DetailRow term="Registered">
        <TimeDetail isoTime={worker.register_time} nowMs={nowMs} />
      </DetailRow>
      <DetailRow term="Last activity">
        <TimeDetail isoTime={worker.last_activity_time} nowMs={nowMs} />
      </DetailRow>
      <DetailRow term="Last report">
        {worker.last_report_time ? <TimeDetail isoTime={worker.last_report_time} nowMs={nowMs} /> : none}
      </DetailRow>
      <DetailRow term="Tags">
        <TagList tags={worker.tags} systemTags={worker.system_tags} />
      </DetailRow>
    </dl>
  );
}
