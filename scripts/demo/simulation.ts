import type { ReportContent, ReportSource } from '../../agent/reporter';
import type { MachineStats } from '../../lib/schemas/workers';
import type { WorkerSpec } from './fleet';
import { hashToUnit, seededRandom, smoothNoise } from './random';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

/** Jobs last 20 minutes to 5 hours. */
const MIN_JOB_MS = 20 * MINUTE_MS;
const MAX_JOB_MS = 5 * HOUR_MS;
/** A job first downloads its dataset for this long, then loads data from disk. */
const DOWNLOAD_MS = 8 * MINUTE_MS;
/** Jobs write a checkpoint every CHECKPOINT_EVERY_MS, for CHECKPOINT_MS. */
const CHECKPOINT_EVERY_MS = 30 * MINUTE_MS;
const CHECKPOINT_MS = 2 * MINUTE_MS;
/** GPU load dips at the end of each epoch, every EPOCH_MS, for EPOCH_DIP_MS (validation). */
const EPOCH_MS = 40 * MINUTE_MS;
const EPOCH_DIP_MS = 90_000;
/** GPU memory a driver holds on an idle card, in MB. */
const IDLE_GPU_MEMORY_MB = 3;

/** Noise channels, so that every metric draws its own noise. */
const Channel = {
  Cpu: 1,
  Core: 2,
  Memory: 3,
  Gpu: 4,
  GpuTemperature: 5,
  NetworkRx: 6,
  NetworkTx: 7,
  DiskRead: 8,
  DiskWrite: 9,
  DiskTemp: 10,
  CpuTemperature: 11,
} as const;
type Channel = (typeof Channel)[keyof typeof Channel];

/** One training job on one worker. */
export interface Job {
  startMs: number;
  endMs: number;
  /** ClearML-style task id: 32 hexadecimal digits. */
  taskId: string;
  queue: string;
  /** Share of all cores the job keeps busy, 0 to 1. */
  cpuLoad: number;
  /** Utilization of the job's GPUs, 0 to 1. */
  gpuLoad: number;
  /** Share of each used GPU's memory the job holds, 0 to 1. */
  gpuMemoryShare: number;
  /** Share of the machine's memory the job holds, 0 to 1. */
  memoryShare: number;
  /** Number of GPUs the job uses, counted from card 0. */
  gpusUsed: number;
}

/**
 * A simulated worker: believable machine_stats for any timestamp, from a daily cycle
 * (quiet at 03:00, busiest at 15:00 local time), smooth and sample-level noise, and a
 * timeline of jobs that start and stop. The values are a function of the timestamp, so
 * backfilled and live reports of the same moment agree. It is also the reporter's source.
 */
export class SimulatedWorker implements ReportSource {
  readonly spec: WorkerSpec;
  private readonly jobs: Job[] = [];
  private readonly timelineRandom: () => number;
  /** End of the generated timeline, in milliseconds since the epoch. */
  private timelineEndMs: number;

  /** `originMs` is the earliest timestamp the simulation will be asked about. */
  constructor(spec: WorkerSpec, originMs: number) {
    this.spec = spec;
    this.timelineRandom = seededRandom(spec.seed);
    // Start the timeline a job length early, so a job may already be running at the origin.
    this.timelineEndMs = originMs - MAX_JOB_MS * this.timelineRandom();
  }

  async read(timestampMs: number): Promise<ReportContent> {
    const job = this.jobAt(timestampMs);

    return {
      machine_stats: this.statsAt(timestampMs),
      ...(job ? { task: job.taskId, queue: job.queue } : {}),
    };
  }

  /** Returns the job running at `timestampMs`, if any. */
  jobAt(timestampMs: number): Job | undefined {
    if (this.spec.busyShare === 0) {
      return undefined;
    }

    this.extendTimeline(timestampMs);

    return this.jobs.find((job) => job.startMs <= timestampMs && timestampMs < job.endMs);
  }

  statsAt(timestampMs: number): MachineStats {
    const { spec } = this;
    const job = this.jobAt(timestampMs);
    const daily = dailyCycle(timestampMs);
    const noise = (channel: Channel, index = 0) => hashToUnit(spec.seed, channel, index, Math.floor(timestampMs / 1000));
    const drift = (channel: Channel, scaleMs: number) => smoothNoise(spec.seed, channel, timestampMs, scaleMs);
    const sinceStartMs = job ? timestampMs - job.startMs : 0;
    const warmup = job ? Math.min(1, sinceStartMs / (5 * MINUTE_MS)) : 0;
    const phase = jobPhase(job, sinceStartMs);

    // CPU: interactive use and cron jobs when idle, the job's data loaders otherwise.
    const cpuLoad = job
      ? job.cpuLoad * (0.8 + 0.2 * drift(Channel.Cpu, 10 * MINUTE_MS))
      : 0.01 + 0.12 * daily * drift(Channel.Cpu, 30 * MINUTE_MS);
    const cpuUsage = Array.from({ length: spec.cores }, (_, core) =>
      percent(100 * cpuLoad * (0.55 + 0.9 * noise(Channel.Core, core))),
    );

    const memoryUsed =
      spec.memoryMb * (0.04 + 0.06 * daily * drift(Channel.Memory, HOUR_MS) + (job ? job.memoryShare * warmup : 0));

    const stats: MachineStats = {
      cpu_usage: cpuUsage,
      cpu_temperature: Array.from({ length: spec.cpuSockets }, (_, socket) =>
        round(34 + 48 * cpuLoad + 4 * noise(Channel.CpuTemperature, socket)),
      ),
      memory_used: round(memoryUsed),
      memory_free: round(spec.memoryMb - memoryUsed),
      ...trafficStats(phase, noise),
      // Checkpoints fill the home disk over about three days, then a cleanup frees it.
      disk_free_home: percent(spec.homeFreePercent - 20 * sawtooth(timestampMs + spec.seed * 1000, 3 * 24 * HOUR_MS)),
      disk_free_temp: percent(90 - (job ? 30 * warmup : 0) - 5 * drift(Channel.DiskTemp, HOUR_MS)),
    };

    if (spec.gpuCount > 0) {
      Object.assign(stats, this.gpuStats(job, sinceStartMs, warmup, noise));
    }

    return stats;
  }

  private gpuStats(
    job: Job | undefined,
    sinceStartMs: number,
    warmup: number,
    noise: (channel: Channel, index?: number) => number,
  ): MachineStats {
    const { spec } = this;
    const inEpochDip = sinceStartMs % EPOCH_MS > EPOCH_MS - EPOCH_DIP_MS;
    const usage: number[] = [];
    const memoryUsed: number[] = [];

    for (let card = 0; card < spec.gpuCount; card += 1) {
      let cardUsage = 0;
      if (job !== undefined && card < job.gpusUsed && sinceStartMs >= DOWNLOAD_MS) {
        // Utilization of a busy card swings by up to 15 points between samples.
        cardUsage = inEpochDip ? 5 + 10 * noise(Channel.Gpu, card) : 100 * job.gpuLoad - 15 * noise(Channel.Gpu, card);
      }
      const cardMemory =
        job !== undefined && card < job.gpusUsed
          ? IDLE_GPU_MEMORY_MB + spec.gpuMemoryMb * job.gpuMemoryShare * warmup
          : IDLE_GPU_MEMORY_MB;
      usage.push(percent(cardUsage));
      memoryUsed.push(Math.round(cardMemory));
    }

    return {
      gpu_usage: usage,
      gpu_memory_used: memoryUsed,
      gpu_memory_free: memoryUsed.map((used) => spec.gpuMemoryMb - used),
      gpu_temperature: usage.map((cardUsage, card) =>
        Math.round(31 + 0.52 * cardUsage + 3 * noise(Channel.GpuTemperature, card)),
      ),
    };
  }

  /** Draws jobs and idle gaps until the timeline covers `timestampMs`. */
  private extendTimeline(timestampMs: number): void {
    const random = this.timelineRandom;
    const { busyShare, gpuCount, queues } = this.spec;
    const meanJobMs = (MIN_JOB_MS + MAX_JOB_MS) / 2;
    // Exponential gaps whose mean gives the worker its busy share in the long run.
    const meanGapMs = (meanJobMs * (1 - busyShare)) / busyShare;

    while (this.timelineEndMs <= timestampMs) {
      const startMs = this.timelineEndMs - meanGapMs * Math.log(1 - random());
      const endMs = startMs + MIN_JOB_MS + (MAX_JOB_MS - MIN_JOB_MS) * random();
      const gpusUsed = gpuCount === 0 ? 0 : random() < 0.6 ? gpuCount : 1 + Math.floor(random() * gpuCount);

      this.jobs.push({
        startMs,
        endMs,
        taskId: Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join(''),
        queue: queues[0],
        cpuLoad: gpuCount === 0 ? 0.6 + 0.35 * random() : 0.15 + 0.35 * random(),
        gpuLoad: 0.75 + 0.24 * random(),
        gpuMemoryShare: 0.4 + 0.55 * random(),
        memoryShare: 0.1 + 0.4 * random(),
        gpusUsed,
      });
      this.timelineEndMs = endMs;
    }
  }
}

/** The activity of a worker at one moment, which sets its network and disk traffic. */
type Phase = 'idle' | 'download' | 'train' | 'checkpoint';

/** Rates of each phase in MB/s, as [base, spread]: a sample is base + spread * noise. */
const TRAFFIC_BY_PHASE: Record<Phase, Record<'network_rx' | 'network_tx' | 'disk_read' | 'disk_write', [number, number]>> = {
  idle: { network_rx: [0.01, 0.3], network_tx: [0, 0.02], disk_read: [0, 0.5], disk_write: [0, 0.2] },
  // The dataset arrives over the network and lands on disk.
  download: { network_rx: [80, 320], network_tx: [0.2, 2], disk_read: [0, 0.5], disk_write: [50, 150] },
  train: { network_rx: [2, 28], network_tx: [0.2, 2], disk_read: [10, 140], disk_write: [1, 4] },
  // A checkpoint goes to local disk and to remote storage.
  checkpoint: { network_rx: [2, 28], network_tx: [20, 60], disk_read: [10, 140], disk_write: [150, 450] },
};

function jobPhase(job: Job | undefined, sinceStartMs: number): Phase {
  if (job === undefined) {
    return 'idle';
  }
  if (sinceStartMs < DOWNLOAD_MS) {
    return 'download';
  }
  if (sinceStartMs % CHECKPOINT_EVERY_MS < CHECKPOINT_MS && sinceStartMs > CHECKPOINT_MS) {
    return 'checkpoint';
  }

  return 'train';
}

function trafficStats(phase: Phase, noise: (channel: Channel) => number): MachineStats {
  const rates = TRAFFIC_BY_PHASE[phase];
  const rate = ([base, spread]: [number, number], channel: Channel) => round(base + spread * noise(channel), 3);

  return {
    network_rx: rate(rates.network_rx, Channel.NetworkRx),
    network_tx: rate(rates.network_tx, Channel.NetworkTx),
    disk_read: rate(rates.disk_read, Channel.DiskRead),
    disk_write: rate(rates.disk_write, Channel.DiskWrite),
  };
}

/** Returns 0 at 03:00 and 1 at 15:00 in the local time zone, a cosine between. */
function dailyCycle(timestampMs: number): number {
  const date = new Date(timestampMs);
  const hours = date.getHours() + date.getMinutes() / 60;

  return 0.5 - 0.5 * Math.cos((2 * Math.PI * (hours - 3)) / 24);
}

/** Rises from 0 to 1 over each `periodMs`, then drops back. */
function sawtooth(timestampMs: number, periodMs: number): number {
  return (timestampMs % periodMs) / periodMs;
}

function percent(value: number): number {
  return round(Math.min(100, Math.max(0, value)));
}

function round(value: number, digits = 2): number {
  const scale = 10 ** digits;

  return Math.round(value * scale) / scale;
}
