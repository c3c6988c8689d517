import os from 'node:os';
import { parseArgs } from 'node:util';

import { workerIdSchema } from '../lib/schemas/workers';
import { apiBaseUrl, credentialsFromEnv, type ApiCredentials } from './api-client';

const DEFAULT_SERVER = 'http://127.0.0.1:3000';
const DEFAULT_PERIOD_SECONDS = 10;
const MIN_PERIOD_SECONDS = 0.1;
/** clearml-agent's registration timeout, in seconds. */
const DEFAULT_TIMEOUT_SECONDS = 600;

export const USAGE = `Usage: npm run agent -- [options]

Reports this machine's CPU, memory, network, disk, temperature and NVIDIA GPU stats to a
workers API server, as a ClearML worker daemon does.

Options:
  --server <url>       API server; requests go to <url>/api/v2.30/workers.<action>
                       (default ${DEFAULT_SERVER})
  --worker <id>        worker id (default <hostname>:cpu)
  --queue <id>         id of a queue this worker serves, as queues.create returned it;
                       repeat for several queues
  --period <seconds>   interval between status reports, in seconds (default ${DEFAULT_PERIOD_SECONDS},
                       at least ${MIN_PERIOD_SECONDS})
  --timeout <seconds>  registration timeout: the server drops the worker after this many
                       seconds without a report; a whole number above --period
                       (default ${DEFAULT_TIMEOUT_SECONDS}, or 3 periods when that is longer)
  --access-key <key>   access key of the API credential (default: WORKERS_ACCESS_KEY,
                       else CLEARML_API_ACCESS_KEY)
  --secret-key <key>   secret key of the API credential (default: WORKERS_SECRET_KEY,
                       else CLEARML_API_SECRET_KEY)
  -h, --help           print this help

On SIGINT or SIGTERM the daemon unregisters the worker and exits with code 0.
Logs are JSON lines on stdout; LOG_LEVEL sets the level (default info).
`;

export interface DaemonSettings {
  server: string;
  worker: string;
  queues: string[];
  periodSeconds: number;
  timeoutSeconds: number;
  credentials: ApiCredentials;
}

/**
 * Resolves the credential of a command-line tool: both of --access-key and --secret-key,
 * else the environment pair. Throws an Error saying how to pass one when neither is complete.
 */
export function resolveCredentials(
  accessKey: string | undefined,
  secretKey: string | undefined,
  env: Record<string, string | undefined> = process.env,
): ApiCredentials {
  if (accessKey !== undefined || secretKey !== undefined) {
    if (!accessKey || !secretKey) {
      throw new Error('--access-key and --secret-key must be given together');
    }
    return { accessKey, secretKey };
  }

  const fromEnv = credentialsFromEnv(env);
  if (!fromEnv) {
    throw new Error(
      'missing credentials: pass --access-key and --secret-key, or set WORKERS_ACCESS_KEY and WORKERS_SECRET_KEY (`npm run credentials -- create` makes a pair)',
    );
  }

  return fromEnv;
}

/** Parses and checks the command line; throws an Error whose message names the bad option. */
export function parseDaemonArgs(args: string[], env: Record<string, string | undefined> = process.env): DaemonSettings | 'help' {
  const { values } = parseArgs({
    args,
    options: {
      server: { type: 'string', default: DEFAULT_SERVER },
      worker: { type: 'string', default: `${os.hostname()}:cpu` },
      queue: { type: 'string', multiple: true, default: [] },
      period: { type: 'string', default: String(DEFAULT_PERIOD_SECONDS) },
      timeout: { type: 'string' },
      'access-key': { type: 'string' },
      'secret-key': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });

  if (values.help) {
    return 'help';
  }

  try {
    apiBaseUrl(values.server);
  } catch {
    throw new Error(`invalid --server ${JSON.stringify(values.server)}: expected an http or https URL`);
  }

  const worker = workerIdSchema.safeParse(values.worker);
  if (!worker.success) {
    throw new Error(`invalid --worker ${JSON.stringify(values.worker)}: ${worker.error.issues[0]?.message}`);
  }

  const periodSeconds = Number(values.period);
  if (!Number.isFinite(periodSeconds) || periodSeconds < MIN_PERIOD_SECONDS) {
    throw new Error(`invalid --period ${JSON.stringify(values.period)}: expected seconds, at least ${MIN_PERIOD_SECONDS}`);
  }

  const timeoutSeconds =
    values.timeout === undefined
      ? Math.max(DEFAULT_TIMEOUT_SECONDS, Math.ceil(3 * periodSeconds))
      : Number(values.timeout);
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds <= periodSeconds) {
    throw new Error(
      `invalid --timeout ${JSON.stringify(values.timeout)}: expected a whole number of seconds above the period (${periodSeconds} s)`,
    );
  }

  const credentials = resolveCredentials(values['access-key'], values['secret-key'], env);

  return { server: values.server, worker: worker.data, queues: values.queue, periodSeconds, timeoutSeconds, credentials };
}
