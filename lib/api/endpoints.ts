import { login } from '@/lib/auth/login';
import { loginRequestSchema } from '@/lib/schemas/auth';
import {
  getActivityReportRequestSchema,
  getAllRequestSchema,
  getCountRequestSchema,
  getMetricKeysRequestSchema,
  getStatsRequestSchema,
  registerRequestSchema,
  statusReportRequestSchema,
  unregisterRequestSchema,
} from '@/lib/schemas/workers';
import { encodeSamples } from '@/lib/stats/layout';
import { reportTime } from '@/lib/stats/samples';
import { getActivityReport, getMetricKeys, getStats } from '@/lib/stats/service';
import { getAll, getCount, register, statusReport, unregister } from '@/lib/workers/service';

import { defineEndpoint, type Endpoint } from './endpoint';

/**
 * Every endpoint the service serves, with the schema versions of the original `workers`
 * service up to 2.30, and auth.login (first and only version 2.1 in the original). A
 * version added only fields; all of them are accepted.
 */
const endpoints: Endpoint[] = [
  defineEndpoint({ name: 'auth.login', versions: ['2.1'], request: loginRequestSchema, handle: login }),
  defineEndpoint({ name: 'workers.get_all', versions: ['2.4', '2.20', '2.22', '2.30'], request: getAllRequestSchema, handle: getAll }),
  defineEndpoint({ name: 'workers.get_count', versions: ['2.26', '2.30'], request: getCountRequestSchema, handle: getCount }),
  defineEndpoint({ name: 'workers.register', versions: ['2.4', '2.22'], request: registerRequestSchema, handle: register }),
  defineEndpoint({ name: 'workers.unregister', versions: ['2.4'], request: unregisterRequestSchema, handle: unregister }),
  defineEndpoint({ name: 'workers.status_report', versions: ['2.4', '2.22'], request: statusReportRequestSchema, handle: statusReport }),
  defineEndpoint({ name: 'workers.get_metric_keys', versions: ['2.4'], request: getMetricKeysRequestSchema, handle: getMetricKeys }),
  defineEndpoint({ name: 'workers.get_stats', versions: ['2.4'], request: getStatsRequestSchema, handle: getStats }),
  defineEndpoint({ name: 'workers.get_activity_report', versions: ['2.4'], request: getActivityReportRequestSchema, handle: getActivityReport }),
] as Endpoint[];

/**
 * A status_report that is parsed, validated and encoded like the real one but stores
 * nothing: the baseline of the ingest benchmark. Served only with WORKERS_BENCH_ROUTES=1.
 */
const benchEndpoints: Endpoint[] = [
  defineEndpoint({
    name: 'bench.status_report_dry_run',
    versions: ['2.4'],
    request: statusReportRequestSchema,
    handle: async (context, request) => {
      reportTime(request.timestamp, context.now);
      encodeSamples(request.machine_stats);
      return {};
    },
  }),
] as Endpoint[];

export const ENDPOINTS: ReadonlyMap<string, Endpoint> = new Map(
  [...endpoints, ...(process.env.WORKERS_BENCH_ROUTES === '1' ? benchEndpoints : [])].map((endpoint) => [
    endpoint.name,
    endpoint,
  ]),
);
