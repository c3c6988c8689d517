import { seededRandom } from './random';

/** A GPU model with its memory as nvidia-smi reports it, in MB (MiB). */
interface GpuModel {
  queue: string;
  memoryMb: number;
}

const GPU_MODELS: GpuModel[] = [
  { queue: 'gpu-a100', memoryMb: 81_920 },
  { queue: 'gpu-h100', memoryMb: 81_559 },
  { queue: 'gpu-a10', memoryMb: 23_028 },
  { queue: 'gpu-l4', memoryMb: 23_034 },
  { queue: 'gpu-rtx4090', memoryMb: 24_564 },
];

const GPU_COUNTS = [1, 2, 4, 8];
const GPU_WORKER_CORES = [16, 32, 48, 64];
const CPU_WORKER_CORES = [4, 8, 16, 32, 64];

/** One simulated machine; every figure is fixed for the whole run. */
export interface WorkerSpec {
  id: string;
  /** Names of the queues the worker serves; jobs come from the first one. */
  queues: string[];
  cores: number;
  /** Total memory, in MB. */
  memoryMb: number;
  gpuCount: number;
  /** Memory of each GPU, in MB; 0 without GPUs. */
  gpuMemoryMb: number;
  /** Number of CPU temperature sensors (sockets). */
  cpuSockets: number;
  /** Long-run share of time spent running jobs, 0 for a worker that never gets one. */
  busyShare: number;
  /** Free share of the home file system when the simulation starts, in percent. */
  homeFreePercent: number;
  /** Seed of this worker's noise and job timeline. */
  seed: number;
}

/**
 * Builds a fleet of `count` workers from `seed`: two in three have 1 to 8 GPUs, the
 * others only CPUs (4 to 64 cores). Ids follow clearml-agent's `<host>:gpu0,1` and
 * `<host>:cpu` forms. About one worker in seven never gets a job.
 */
export function buildFleet(count: number, seed: number): WorkerSpec[] {
  const random = seededRandom(seed);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)];
  const workers: WorkerSpec[] = [];
  let gpuHosts = 0;
  let cpuHosts = 0;

  for (let index = 0; index < count; index += 1) {
    const hasGpus = index % 3 !== 2;
    const gpuModel = pick(GPU_MODELS);
    const gpuCount = hasGpus ? pick(GPU_COUNTS) : 0;
    const cores = hasGpus ? pick(GPU_WORKER_CORES) : pick(CPU_WORKER_CORES);

    let id: string;
    let queues: string[];
    if (hasGpus) {
      gpuHosts += 1;
      const cards = Array.from({ length: gpuCount }, (_, card) => card).join(',');
      id = `demo-gpu-${String(gpuHosts).padStart(2, '0')}:gpu${cards}`;
      queues = [gpuModel.queue, 'default'];
    } else {
      cpuHosts += 1;
      id = `demo-cpu-${String(cpuHosts).padStart(2, '0')}:cpu`;
      queues = random() < 0.3 ? ['cpu-batch', 'services'] : ['cpu-batch'];
    }

    workers.push({
      id,
      queues,
      cores,
      // About 4 to 8 GB per core, rounded to a power-of-two-ish size in GB.
      memoryMb: 1024 * 2 ** Math.round(Math.log2(cores * (4 + random() * 4))),
      gpuCount,
      gpuMemoryMb: hasGpus ? gpuModel.memoryMb : 0,
      cpuSockets: cores >= 48 ? 2 : 1,
      busyShare: random() < 0.15 ? 0 : 0.3 + random() * 0.6,
      homeFreePercent: 25 + random() * 60,
      seed: Math.floor(random() * 2 ** 31),
    });
  }

  return workers;
}
