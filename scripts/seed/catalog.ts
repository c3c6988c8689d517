import type { CallContext } from '@/lib/api/endpoint';
import { createProject, getAllProjects } from '@/lib/catalog/projects';
import { createQueue, getAllQueues } from '@/lib/catalog/queues';
import { createTask, editTask, taskStarted } from '@/lib/catalog/tasks';

import { escapeRegex, PROJECT_NAMES, TASK_NAMES } from '../demo/catalog';
import type { WorkerSpec } from '../demo/fleet';
import type { Job } from '../demo/simulation';

/** Simulated milliseconds per training iteration, as in the demo. */
const MS_PER_ITERATION = 1_500;

/**
 * The queues and projects of a seeded fleet, found by name or created through the
 * catalog's service functions, and the tasks the workers run at the end of the history.
 */
export class SeedCatalog {
  private readonly queueIds = new Map<string, string>();
  private readonly projectIds: string[] = [];
  private taskCount = 0;

  constructor(private readonly context: CallContext) {}

  async prepare(specs: WorkerSpec[]): Promise<void> {
    for (const name of new Set(specs.flatMap((spec) => spec.queues))) {
      const { queues } = await getAllQueues(this.context, { name: `^${escapeRegex(name)}$` });
      const existing = queues.find((queue) => queue.name === name);
      const systemTags = name === 'default' ? ['default'] : [];
      this.queueIds.set(name, existing?.id ?? (await createQueue(this.context, { name, system_tags: systemTags })).id);
    }
    for (const name of PROJECT_NAMES) {
      const { projects } = await getAllProjects(this.context, { name: `^${escapeRegex(name)}$` });
      const existing = projects.find((project) => project.name === name);
      this.projectIds.push(existing?.id ?? (await createProject(this.context, { name })).id);
    }
  }

  queueId(name: string): string {
    const id = this.queueIds.get(name);
    if (id === undefined) {
      throw new Error(`queue ${JSON.stringify(name)} was not prepared`);
    }

    return id;
  }

  /** Creates the task of a job running at `atMs`: started at the job's start, at its iteration of `atMs`. */
  async createRunningTask(job: Job, atMs: number): Promise<string> {
    this.taskCount += 1;
    const name = `${TASK_NAMES[this.taskCount % TASK_NAMES.length]} #${this.taskCount}`;
    const project = this.projectIds[this.taskCount % this.projectIds.length];
    const { id } = await createTask(this.context, { name, type: 'training', project });
    await taskStarted({ ...this.context, now: new Date(job.startMs) }, { task: id });
    await editTask(this.context, { task: id, last_iteration: Math.floor(Math.max(0, atMs - job.startMs) / MS_PER_ITERATION) });

    return id;
  }
}
