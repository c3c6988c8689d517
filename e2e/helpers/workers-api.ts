import type { z } from 'zod';

import { basicAuthorization, type ApiCredentials } from '../../agent/api-client';

import { envelopeSchema } from '../../lib/schemas/envelope';
import { createQueueResponseSchema } from '../../lib/schemas/queues';
import { createTaskResponseSchema } from '../../lib/schemas/tasks';
import {
  emptyResponseSchema,
  getAllResponseSchema,
  getMetricKeysResponseSchema,
  type MachineStats,
} from '../../lib/schemas/workers';

/** The bootstrap pair of the service under test, set in playwright.config.ts. */
export function bootstrapCredentials(): ApiCredentials {
  const { WORKERS_ACCESS_KEY: accessKey, WORKERS_SECRET_KEY: secretKey } = process.env;
  if (!accessKey || !secretKey) throw new Error('WORKERS_ACCESS_KEY and WORKERS_SECRET_KEY are not set: run through playwright.config.ts');

  return { accessKey, secretKey };
}

/**
 * Calls `<service>.<action>` on the service under test with HTTP Basic (the bootstrap
 * pair unless `credentials` names another) and returns the envelope's data. Throws with
 * the envelope's result code and message when the call does not return 200.
 */
export async function callEndpoint<T extends z.ZodType>(
  baseURL: string,
  endpoint: string,
  body: unknown,
  dataSchema: T,
  credentials: ApiCredentials = bootstrapCredentials(),
): Promise<z.output<T>> {
  const response = await fetch(`${baseURL}/api/v2.30/${endpoint}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: basicAuthorization(credentials) },
    body: JSON.stringify(body),
  });
  const payload: unknown = await response.json();
  if (response.status !== 200) {
    throw new Error(`${endpoint} returned HTTP ${response.status}: ${JSON.stringify(payload)}`);
  }

  return (envelopeSchema(dataSchema).parse(payload) as { data: z.output<T> }).data;
}

/** Calls `workers.<action>`; see callEndpoint. */
export function callWorkers<T extends z.ZodType>(
  baseURL: string,
  action: string,
  body: unknown,
  dataSchema: T,
  credentials?: ApiCredentials,
): Promise<z.output<T>> {
  return callEndpoint(baseURL, `workers.${action}`, body, dataSchema, credentials);
}

/** Creates a queue through queues.create and returns its id. */
export async function createQueue(baseURL: string, name: string, credentials?: ApiCredentials): Promise<string> {
  return (await callEndpoint(baseURL, 'queues.create', { name }, createQueueResponseSchema, credentials)).id;
}

/** Creates a training task through tasks.create and returns its id. */
export async function createTask(baseURL: string, name: string, credentials?: ApiCredentials): Promise<string> {
  return (await callEndpoint(baseURL, 'tasks.create', { name, type: 'training' }, createTaskResponseSchema, credentials)).id;
}

/** Ids of the live workers, sorted. */
export async function listLiveWorkerIds(baseURL: string): Promise<string[]> {
  const { workers } = await callWorkers(baseURL, 'get_all', { last_seen: 0 }, getAllResponseSchema);

  return workers.map((worker) => worker.id).sort();
}

/** Metric keys a worker has reported; empty when the server has none (400/1005). */
export async function listMetricKeys(baseURL: string, workerId: string): Promise<string[]> {
  try {
    const { categories } = await callWorkers(
      baseURL,
      'get_metric_keys',
      { worker_ids: [workerId] },
      getMetricKeysResponseSchema,
    );

    return categories.flatMap((category) => category.metric_keys).sort();
  } catch (error) {
    if (error instanceof Error && error.message.includes('HTTP 400')) return [];
    throw error;
  }
}

/**
 * Registers a worker and sends one status report with `machineStats` at the current time.
 * `task` and `queue` are ids of objects that exist on the server.
 */
export async function seedWorker(
  baseURL: string,
  workerId: string,
  machineStats: MachineStats,
  extra: { tags?: string[]; task?: string; queue?: string; credentials?: ApiCredentials } = {},
): Promise<void> {
  await callWorkers(
    baseURL,
    'register',
    { worker: workerId, timeout: 3_600, tags: extra.tags, queues: extra.queue ? [extra.queue] : undefined },
    emptyResponseSchema,
    extra.credentials,
  );
  await callWorkers(
    baseURL,
    'status_report',
    { worker: workerId, timestamp: Date.now(), machine_stats: machineStats, task: extra.task, queue: extra.queue },
    emptyResponseSchema,
    extra.credentials,
  );
}

/** Removes a worker entry; its stats stay. */
export async function unregisterWorker(baseURL: string, workerId: string, credentials?: ApiCredentials): Promise<void> {
  await callWorkers(baseURL, 'unregister', { worker: workerId }, emptyResponseSchema, credentials);
}
