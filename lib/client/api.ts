import { z } from '@/lib/schemas/zod';

import { envelopeMetaSchema, envelopeSchema } from '@/lib/schemas/envelope';
import {
  getActivityReportRequestSchema,
  getActivityReportResponseSchema,
  getAllRequestSchema,
  getAllResponseSchema,
  getMetricKeysRequestSchema,
  getMetricKeysResponseSchema,
  getStatsRequestSchema,
  getStatsResponseSchema,
  type GetActivityReportRequest,
  type GetActivityReportResponse,
  type GetAllRequest,
  type GetAllResponse,
  type GetMetricKeysRequest,
  type GetMetricKeysResponse,
  type GetStatsRequest,
  type GetStatsResponse,
} from '@/lib/schemas/workers';
import { getAllQueuesRequestSchema, getAllQueuesResponseSchema, type GetAllQueuesRequest, type GetAllQueuesResponse } from '@/lib/schemas/queues';
import { getAllTasksRequestSchema, getAllTasksResponseSchema, type GetAllTasksRequest, type GetAllTasksResponse } from '@/lib/schemas/tasks';

/** API version the dashboard calls; the server also serves every older version. */
export const API_VERSION = '2.30';

/** Subcode of `worker_stats_not_found`, which get_metric_keys returns when no stats exist. */
export const WORKER_STATS_NOT_FOUND = 1005;

/**
 * Error response of the API (workers and catalog endpoints): the envelope's result code,
 * subcode and message.
 * A request that never got an envelope (network failure, proxy page) has result code 0
 * or the bare HTTP status, and subcode 0.
 */
export class WorkersApiError extends Error {
  readonly endpoint: string;
  readonly resultCode: number;
  readonly resultSubcode: number;
  readonly resultMsg: string;

  constructor(endpoint: string, resultCode: number, resultSubcode: number, resultMsg: string) {
    super(`${endpoint} failed with ${resultCode}/${resultSubcode}: ${resultMsg}`);
    this.name = 'WorkersApiError';
    this.endpoint = endpoint;
    this.resultCode = resultCode;
    this.resultSubcode = resultSubcode;
    this.resultMsg = resultMsg;
  }
}

const errorEnvelopeSchema = z.object({ meta: envelopeMetaSchema });

/** Sends the browser to the sign-in page, which returns to the current page after signing in. */
function redirectToSignIn(): void {
  const next = `${window.location.pathname}${window.location.search}`;
  window.location.assign(`/sign-in?${new URLSearchParams({ next })}`);
}

/**
 * Calls `<service>.<action>` with a JSON body and returns the envelope's `data`, parsed
 * with the endpoint's response schema. Throws WorkersApiError for any result other than
 * 200, and for a 200 whose body does not match the schema.
 */
async function callEndpoint<T extends z.ZodType>(
  endpoint: string,
  body: unknown,
  dataSchema: T,
  signal?: AbortSignal,
): Promise<z.output<T>> {
  let response: Response;
  try {
    response = await fetch(`/api/v${API_VERSION}/${endpoint}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      cache: 'no-store',
      signal,
    });
  } catch (error) {
    // An aborted request is react-query cancelling it: let the abort propagate unchanged.
    if (signal?.aborted) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new WorkersApiError(endpoint, 0, 0, `network request failed (${reason}); is the server running?`);
  }

  let payload: unknown;
  try {
    payload = await response.json();
  } catch {
    throw new WorkersApiError(
      endpoint,
      response.status,
      0,
      `the server returned HTTP ${response.status} ${response.statusText} with a body that is not JSON`,
    );
  }

  if (!response.ok) {
    const envelope = errorEnvelopeSchema.safeParse(payload);
    if (!envelope.success) {
      throw new WorkersApiError(
        endpoint,
        response.status,
        0,
        `the server returned HTTP ${response.status} without a result envelope`,
      );
    }
    const { result_code, result_subcode, result_msg } = envelope.data.meta;
    if (result_code === 401) {
      // The session expired or was revoked: the sign-in page brings the user back here.
      redirectToSignIn();
    }
    throw new WorkersApiError(endpoint, result_code, result_subcode, result_msg);
  }

  const envelope = envelopeSchema(dataSchema).safeParse(payload);
  if (!envelope.success) {
    throw new WorkersApiError(
      endpoint,
      response.status,
      0,
      `invalid response body: ${z.prettifyError(envelope.error)}`,
    );
  }

  // TypeScript cannot resolve the generic envelope's output type, so name it here.
  return (envelope.data as { data: z.output<T> }).data;
}

/** Calls `workers.<action>`; see callEndpoint. */
function callWorkersEndpoint<T extends z.ZodType>(action: string, body: unknown, dataSchema: T, signal?: AbortSignal): Promise<z.output<T>> {
  return callEndpoint(`workers.${action}`, body, dataSchema, signal);
}

/** queues.get_all: the queues matching the filters, with their entries. */
export function getAllQueues(request: GetAllQueuesRequest, signal?: AbortSignal): Promise<GetAllQueuesResponse> {
  return callEndpoint('queues.get_all', getAllQueuesRequestSchema.parse(request), getAllQueuesResponseSchema, signal);
}

/** tasks.get_all: the tasks matching the filters; `only_fields` trims each task. */
export function getAllTasks(request: GetAllTasksRequest, signal?: AbortSignal): Promise<GetAllTasksResponse> {
  return callEndpoint('tasks.get_all', getAllTasksRequestSchema.parse(request), getAllTasksResponseSchema, signal);
}

/** workers.get_all: the live workers matching the filters. */
export function getAllWorkers(request: GetAllRequest, signal?: AbortSignal): Promise<GetAllResponse> {
  return callWorkersEndpoint('get_all', getAllRequestSchema.parse(request), getAllResponseSchema, signal);
}

/** workers.get_metric_keys: the metric keys reported by the workers, grouped by category. */
export function getMetricKeys(
  request: GetMetricKeysRequest,
  signal?: AbortSignal,
): Promise<GetMetricKeysResponse> {
  return callWorkersEndpoint(
    'get_metric_keys',
    getMetricKeysRequestSchema.parse(request),
    getMetricKeysResponseSchema,
    signal,
  );
}

/** workers.get_stats: bucketed metric series; dates are bucket starts in seconds. */
export function getStats(request: GetStatsRequest, signal?: AbortSignal): Promise<GetStatsResponse> {
  return callWorkersEndpoint('get_stats', getStatsRequestSchema.parse(request), getStatsResponseSchema, signal);
}

/** workers.get_activity_report: total and active worker counts per bucket. */
export function getActivityReport(
  request: GetActivityReportRequest,
  signal?: AbortSignal,
): Promise<GetActivityReportResponse> {
  return callWorkersEndpoint(
    'get_activity_report',
    getActivityReportRequestSchema.parse(request),
    getActivityReportResponseSchema,
    signal,
  );
}
