import type { Logger } from 'pino';

import type { ApiClient } from '../../agent/api-client';
import type { ReportContent, ReportSource } from '../../agent/reporter';
import type { WorkerSpec } from './fleet';
import { seededRandom } from './random';
import type { SimulatedWorker } from './simulation';

/** Projects the demo's tasks belong to. */
export const PROJECT_NAMES = ['Vision', 'Language models', 'Forecasting'];

/** Names of the demo's training tasks; each task takes one, with a run number. */
export const TASK_NAMES = [
  'train resnet50 imagenet',
  'finetune llama-3-8b chat',
  'train yolov8 detection',
  'evaluate bert-base squad',
  'train unet segmentation',
  'sweep lr vit-b16',
  'forecast demand lightgbm',
  'distill whisper-small',
];

/** Simulated milliseconds per training iteration, for the iteration the demo reports. */
const MS_PER_ITERATION = 1_500;

/** Live reports between two updates of a task's last iteration. */
const ITERATION_UPDATE_EVERY = 3;

/** Escapes a name for a Python regular expression, as Python's re.escape does. */
export function escapeRegex(name: string): string {
  return name.replace(/[()[\]{}?*+\-|^$\\.&~# \t\n\r\v\f]/g, '\\$&');
}

/**
 * The queues, projects and tasks behind the simulated fleet, created through the API so
 * that the dashboard shows names. Queues and projects that exist with the same name are
 * reused, so a demo started again does not duplicate them. Each simulated job becomes a
 * task when a report first names it: created, started, and completed when its worker
 * moves on.
 */
export class DemoCatalog {
  private readonly queueIds = new Map<string, string>();
  private readonly projectIds: string[] = [];
  /** Server task ids by simulated task id; a promise, so concurrent reports create one task. */
  private readonly taskIds = new Map<string, Promise<string>>();
  /** The simulated task each worker reported last. */
  private readonly lastTask = new Map<string, string | undefined>();
  private readonly liveReports = new Map<string, number>();
  private readonly random = seededRandom(7);
  private taskCount = 0;

  constructor(
    private readonly client: ApiClient,
    private readonly logger: Logger,
  ) {}

  /** Finds or creates the fleet's queues and the demo's projects. */
  async prepare(specs: WorkerSpec[]): Promise<void> {
    for (const name of new Set(specs.flatMap((spec) => spec.queues))) {
      this.queueIds.set(name, await this.ensureQueue(name));
    }
    for (const name of PROJECT_NAMES) {
      this.projectIds.push(await this.ensureProject(name));
    }
    this.logger.info({ queues: this.queueIds.size, projects: this.projectIds.length }, 'demo catalog ready');
  }

  /** Returns the server ids of the queues a worker listens on. */
  queuesOf(spec: WorkerSpec): string[] {
    return spec.queues.map((name) => this.requireQueue(name));
  }

  /**
   * Returns the report of `worker` at `timestampMs` with server ids in place of the
   * simulation's task id and queue name. With `live`, the task's last iteration is
   * updated every few reports.
   */
  async read(worker: SimulatedWorker, timestampMs: number, live = false): Promise<ReportContent> {
    const report = await worker.read(timestampMs);
    const workerId = worker.spec.id;
    const previous = this.lastTask.get(workerId);
    this.lastTask.set(workerId, report.task);
    if (previous !== undefined && previous !== report.task) {
      await this.complete(previous);
    }
    if (report.task === undefined) {
      return report;
    }

    const taskId = await this.taskFor(report.task);
    if (live) {
      await this.updateIteration(workerId, taskId, timestampMs - (worker.jobAt(timestampMs)?.startMs ?? timestampMs));
    }

    return { ...report, task: taskId, queue: report.queue === undefined ? undefined : this.requireQueue(report.queue) };
  }

  /** Builds the report source of the live reporter of `worker`. */
  liveSource(worker: SimulatedWorker): ReportSource {
    return { read: (timestampMs) => this.read(worker, timestampMs, true) };
  }

  private requireQueue(name: string): string {
    const id = this.queueIds.get(name);
    if (id === undefined) {
      throw new Error(`queue ${JSON.stringify(name)} was not prepared`);
    }

    return id;
  }

  /** Returns the id of the first object of `service` named exactly `name`, or undefined. */
  private async findByName(service: 'queues' | 'projects', name: string): Promise<string | undefined> {
    const found = (await this.client.call(`${service}.get_all`, { name: `^${escapeRegex(name)}$`, only_fields: ['id', 'name'] })) as Record<
      string,
      { id: string; name: string }[]
    >;

    return found[service].find((object) => object.name === name)?.id;
  }

  private async ensureQueue(name: string): Promise<string> {
    const existing = await this.findByName('queues', name);
    if (existing) {
      return existing;
    }

    // clearml-agent started without --queue serves the queue tagged `default`.
    const systemTags = name === 'default' ? ['default'] : [];

    return ((await this.client.call('queues.create', { name, system_tags: systemTags })) as { id: string }).id;
  }

  private async ensureProject(name: string): Promise<string> {
    return (await this.findByName('projects', name)) ?? ((await this.client.call('projects.create', { name })) as { id: string }).id;
  }

  private taskFor(simulatedId: string): Promise<string> {
    let task = this.taskIds.get(simulatedId);
    if (!task) {
      task = this.createTask();
      this.taskIds.set(simulatedId, task);
      // A failed creation is forgotten, so that the next report of the job tries again.
      task.catch(() => this.taskIds.delete(simulatedId));
    }

    return task;
  }

  private async createTask(): Promise<string> {
    this.taskCount += 1;
    const name = `${TASK_NAMES[Math.floor(this.random() * TASK_NAMES.length)]} #${this.taskCount}`;
    const project = this.projectIds[Math.floor(this.random() * this.projectIds.length)];
    const { id } = (await this.client.call('tasks.create', { name, type: 'training', project })) as { id: string };
    await this.client.call('tasks.started', { task: id });

    return id;
  }

  private async complete(simulatedId: string): Promise<void> {
    const task = this.taskIds.get(simulatedId);
    if (!task) {
      return;
    }

    try {
      await this.client.call('tasks.completed', { task: await task });
    } catch (error) {
      this.logger.warn({ task: simulatedId, error: (error as Error).message }, 'completing the task failed');
    }
  }

  private async updateIteration(workerId: string, taskId: string, elapsedMs: number): Promise<void> {
    const count = (this.liveReports.get(workerId) ?? 0) + 1;
    this.liveReports.set(workerId, count);
    if (count % ITERATION_UPDATE_EVERY !== 1) {
      return;
    }

    try {
      await this.client.call('tasks.edit', { task: taskId, last_iteration: Math.floor(elapsedMs / MS_PER_ITERATION) });
    } catch (error) {
      this.logger.warn({ task: taskId, error: (error as Error).message }, 'updating the iteration failed');
    }
  }
}
