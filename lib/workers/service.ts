import { unknownQueueIds } from '@/db/queues';
import { storeStatusReport } from '@/db/status-reports';
import { getTask } from '@/db/tasks';
import { countWorkers, deleteLiveWorker, isLiveWorker, listWorkers, upsertWorker, type WorkerFilter } from '@/db/workers';
import type { CallContext } from '@/lib/api/endpoint';
import { apiErrors } from '@/lib/api/errors';
import type {
  GetAllRequest,
  GetAllResponse,
  GetCountRequest,
  GetCountResponse,
  RegisterRequest,
  StatusReportRequest,
  UnregisterRequest,
} from '@/lib/schemas/workers';
import { encodeSamples } from '@/lib/stats/layout';
import { reportTime } from '@/lib/stats/samples';

import { toWorkerEntry } from './entries';
import { globToLike } from './glob';

/** Registration timeout in seconds when register sends none. */
export const DEFAULT_TIMEOUT_SECONDS = 600;

/**
 * Creates or replaces the caller's worker entry. A timeout that is not positive is 1002,
 * and a queue id the company does not have is 701; either way nothing is stored.
 */
export async function register(context: CallContext, request: RegisterRequest): Promise<Record<string, never>> {
  const timeoutSeconds = request.timeout ?? DEFAULT_TIMEOUT_SECONDS;
  if (timeoutSeconds <= 0) {
    throw apiErrors.workerRegistrationFailed(request.worker, `invalid timeout ${timeoutSeconds}: must be a positive number of seconds`, {
      timeout: timeoutSeconds,
    });
  }

  const unknownQueues = await unknownQueueIds(context.db, context.companyId, request.queues ?? []);
  if (unknownQueues.length > 0) {
    throw apiErrors.invalidQueueId(unknownQueues.length === 1 ? unknownQueues[0] : unknownQueues, context.companyId);
  }

  await upsertWorker(context.db, {
    companyId: context.companyId,
    userId: context.userId,
    workerId: request.worker,
    ip: context.clientIp,
    now: context.now,
    timeoutSeconds,
    queues: request.queues ?? [],
    tags: request.tags ?? [],
    systemTags: request.system_tags ?? [],
  });
  context.log.info({ worker: request.worker, timeout_seconds: timeoutSeconds }, 'worker registered');

  return {};
}

/** Removes the caller's worker entry at once; its stats stay. Unknown worker: 1004. */
export async function unregister(context: CallContext, request: UnregisterRequest): Promise<Record<string, never>> {
  const deleted = await deleteLiveWorker(context.db, {
    companyId: context.companyId,
    userId: context.userId,
    workerId: request.worker,
    now: context.now,
  });
  if (!deleted) {
    throw apiErrors.workerNotRegistered(request.worker);
  }
  context.log.info({ worker: request.worker }, 'worker unregistered');

  return {};
}

/**
 * Applies a status report: updates the entry and stores the report and its samples in
 * one statement, so a rejected report stores nothing and a 200 means it is committed.
 * A task id the company does not have is 101, and a queue id it does not have is 701,
 * each checked after the worker, as the original server does.
 */
export async function statusReport(context: CallContext, request: StatusReportRequest): Promise<Record<string, never>> {
  const time = reportTime(request.timestamp, context.now);
  const samples = encodeSamples(request.machine_stats);
  const taskId = request.task || null;

  // Unknown ids are looked up before the report is stored, and reported only when the
  // worker is live, because an unregistered worker is the first error.
  const task = taskId === null ? undefined : await getTask(context.db, context.companyId, taskId);
  const reportedQueues = [...(request.queue ? [request.queue] : []), ...(request.queues ?? [])];
  const unknownQueues = await unknownQueueIds(context.db, context.companyId, reportedQueues);
  if ((taskId !== null && !task) || unknownQueues.length > 0) {
    const live = await isLiveWorker(context.db, {
      companyId: context.companyId,
      userId: context.userId,
      workerId: request.worker,
      now: context.now,
    });
    if (!live) {
      throw apiErrors.invalidWorkerId(request.worker);
    }
    if (taskId !== null && !task) {
      throw apiErrors.invalidTaskId(taskId, context.companyId);
    }
    throw apiErrors.invalidQueueId(unknownQueues.length === 1 ? unknownQueues[0] : unknownQueues, context.companyId);
  }

  const stored = await storeStatusReport(context.db, {
    companyId: context.companyId,
    userId: context.userId,
    workerId: request.worker,
    ip: context.clientIp,
    now: context.now,
    taskId,
    projectId: task?.projectId ?? null,
    queueId: request.queue || null,
    queues: request.queues,
    tags: request.tags,
    systemTags: request.system_tags,
    time,
    samples,
  });
  if (!stored) {
    throw apiErrors.invalidWorkerId(request.worker);
  }

  return {};
}

function workerFilter(context: CallContext, request: GetAllRequest, defaultLastSeen: number): WorkerFilter {
  return {
    companyId: context.companyId,
    now: context.now,
    lastSeen: request.last_seen === null ? 0 : (request.last_seen ?? defaultLastSeen),
    tags: request.tags,
    systemTags: request.system_tags,
    // An empty pattern filters nothing, as in the original server.
    likePattern: request.worker_pattern ? globToLike(request.worker_pattern) : undefined,
  };
}

/** Lists the live workers of the caller's company, of every user. last_seen defaults to 3600 s. */
export async function getAll(context: CallContext, request: GetAllRequest): Promise<GetAllResponse> {
  const rows = await listWorkers(context.db, workerFilter(context, request, 3600));


  return { workers: rows.map(toWorkerEntry) };
}

/** Counts the workers get_all would list; last_seen defaults to 0 (no filter). */
export async function getCount(context: CallContext, request: GetCountRequest): Promise<GetCountResponse> {
  const count = await countWorkers(context.db, workerFilter(context, request, 0));

  return { count };
}
