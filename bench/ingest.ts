import http from 'node:http';

import { benchMachineStats, benchWorkerId, seededRandom } from './payload';
import { percentile, progress, round } from './measure';

/** Distinct machine_stats bodies the daemons cycle through, because building one per request would load the client. */
const PAYLOAD_VARIANTS = 32;
/** A request still unanswered after this long counts as an error. */
const REQUEST_TIMEOUT_MS = 30_000;
/** Registration timeout of the simulated daemons, in seconds: longer than any run. */
const REGISTRATION_TIMEOUT_SECONDS = 3600;

export interface LoadResult {
  requests: number;
  /** Requests that returned HTTP 200. */
  acknowledged: number;
  errors: number;
  /** The first few error messages, for the record. */
  errorSamples: string[];
  seconds: number;
  latenciesMs: number[];
}

/** One status_report of a load run, as the daemon saw it. */
export interface ReportResponse {
  /** The daemon's index. */
  index: number;
  /** The report's timestamp, in milliseconds. */
  timestampMs: number;
  /** HTTP status, or 0 when the request failed without a response. */
  status: number;
  latencyMs: number;
}

interface PostResult {
  status: number;
  body: string;
}

function post(agent: http.Agent, baseUrl: string, path: string, body: string, authorization: string): Promise<PostResult> {
  const url = new URL(path, baseUrl);

  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        agent,
        timeout: REQUEST_TIMEOUT_MS,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`timed out after ${REQUEST_TIMEOUT_MS} ms`)));
    request.on('error', reject);
    request.end(body);
  });
}

/** Simulated daemons of 64-core, 8-GPU machines: every other one runs a task. */
export class DaemonFleet {
  readonly agent: http.Agent;
  private readonly workerIds: string[];
  private readonly payloads: string[];
  /** Id of the queue the daemons serve, and of the task of each daemon that runs one; set by register. */
  private queueId = '';
  private readonly taskIds: string[] = [];

  /**
   * `authorization` is the Authorization header every request sends: HTTP Basic, as
   * daemons send it, so the load includes the server's credential check.
   */
  constructor(
    private readonly baseUrl: string,
    readonly daemons: number,
    private readonly authorization: string,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: daemons });
    this.workerIds = Array.from({ length: daemons }, (_, index) => benchWorkerId('bench', index));
    const random = seededRandom(42);
    this.payloads = Array.from({ length: PAYLOAD_VARIANTS }, () => JSON.stringify(benchMachineStats(random)));
  }

  /**
   * Creates the daemons' queue and their tasks, then registers every daemon's worker.
   * Raises an error on the first failure.
   */
  async register(): Promise<void> {
    this.queueId = (await this.create('queues.create', { name: 'bench' })).id;
    for (let index = 0; index < this.daemons; index += 2) {
      this.taskIds[index] = (await this.create('tasks.create', { name: `bench task ${index}`, type: 'training' })).id;
    }

    for (const worker of this.workerIds) {
      const body = JSON.stringify({ worker, timeout: REGISTRATION_TIMEOUT_SECONDS, queues: [this.queueId] });
      const result = await post(this.agent, this.baseUrl, '/api/v2.4/workers.register', body, this.authorization);
      if (result.status !== 200) {
        throw new Error(`workers.register of ${worker} failed with HTTP ${result.status}: ${result.body.slice(0, 300)}`);
      }
    }
  }

  /** Returns the worker id of daemon `index`. */
  workerId(index: number): string {
    return this.workerIds[index];
  }

  private async create(endpoint: string, fields: object): Promise<{ id: string }> {
    const result = await post(this.agent, this.baseUrl, `/api/v2.4/${endpoint}`, JSON.stringify(fields), this.authorization);
    if (result.status !== 200) {
      throw new Error(`${endpoint} failed with HTTP ${result.status}: ${result.body.slice(0, 300)}`);
    }

    return (JSON.parse(result.body) as { data: { id: string } }).data;
  }

  /** Builds the status_report body of daemon `index` at `timestampMs`, in milliseconds as clearml-agent sends it. */
  reportBody(index: number, sequence: number, timestampMs: number): string {
    const task = index % 2 === 0 ? `"task":"${this.taskIds[index]}","queue":"${this.queueId}",` : '';
    const stats = this.payloads[(index + sequence) % this.payloads.length];

    return `{"worker":${JSON.stringify(this.workerIds[index])},"timestamp":${timestampMs},${task}"machine_stats":${stats}}`;
  }

  /**
   * Sends status_report bodies to `path` from every daemon at once until `durationMs`
   * has passed. Each daemon waits for the response before its next request.
   * `onResponse` is called for every report with its daemon, timestamp and HTTP status
   * (0 when no response came).
   */
  async run(path: string, durationMs: number, onResponse?: (response: ReportResponse) => void): Promise<LoadResult> {
    const result: LoadResult = { requests: 0, acknowledged: 0, errors: 0, errorSamples: [], seconds: 0, latenciesMs: [] };
    const startedMs = performance.now();
    const deadlineMs = startedMs + durationMs;

    const daemon = async (index: number) => {
      for (let sequence = 0; performance.now() < deadlineMs; sequence++) {
        const timestampMs = Date.now();
        const body = this.reportBody(index, sequence, timestampMs);
        const sentMs = performance.now();
        let failure: string | undefined;
        let status = 0;
        try {
          const response = await post(this.agent, this.baseUrl, path, body, this.authorization);
          status = response.status;
          if (response.status !== 200) {
            failure = `HTTP ${response.status}: ${response.body.slice(0, 300)}`;
          }
        } catch (error) {
          failure = (error as Error).message;
        }
        onResponse?.({ index, timestampMs, status, latencyMs: performance.now() - sentMs });

        result.requests += 1;
        result.latenciesMs.push(performance.now() - sentMs);
        if (failure === undefined) {
          result.acknowledged += 1;
        } else {
          result.errors += 1;
          if (result.errorSamples.length < 5) {
            result.errorSamples.push(failure);
          }
        }
      }
    };

    await Promise.all(Array.from({ length: this.daemons }, (_, index) => daemon(index)));
    result.seconds = (performance.now() - startedMs) / 1000;

    return result;
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Formats one load run as the fields of a figure line. */
export function loadFigure(result: LoadResult): Record<string, unknown> {
  return {
    requests: result.requests,
    acknowledged: result.acknowledged,
    errors: result.errors,
    per_second: round(result.acknowledged / result.seconds),
    p50_ms: round(percentile(result.latenciesMs, 0.5), 2),
    p99_ms: round(percentile(result.latenciesMs, 0.99), 2),
    seconds: round(result.seconds, 2),
    ...(result.errorSamples.length > 0 ? { error_samples: result.errorSamples } : {}),
  };
}

/** Logs a load run as it starts, so that a long run shows what it waits for. */
export function announceLoad(path: string, daemons: number, durationMs: number): void {
  progress('load run starting', { path, daemons, seconds: durationMs / 1000 });
}
