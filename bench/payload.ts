import type { MachineStats } from '@/lib/schemas/workers';

/** Cores and GPUs of the benchmark's machine: a large training node. */
export const BENCH_CORES = 64;
export const BENCH_GPUS = 8;
/** Memory of the machine and of each GPU, in MB. */
const MEMORY_MB = 1_048_576;
const GPU_MEMORY_MB = 81_920;

/** Returns a seeded generator of numbers in [0, 1) (mulberry32), so that every run sends the same values. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;

  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);

    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function round(value: number, digits = 2): number {
  const scale = 10 ** digits;

  return Math.round(value * scale) / scale;
}

/**
 * machine_stats of a 64-core, 8-GPU machine with every field filled: 64 cpu_usage
 * values, 2 CPU temperature sensors, 8 values for each gpu_* field, and one value for
 * each scalar field, 114 samples in all. Values have the decimals daemons send.
 */
export function benchMachineStats(random: () => number): MachineStats {
  const percent = () => round(100 * random());
  const memoryUsed = round(MEMORY_MB * (0.1 + 0.6 * random()));
  const gpuMemoryUsed = Array.from({ length: BENCH_GPUS }, () => Math.round(GPU_MEMORY_MB * random()));

  return {
    cpu_usage: Array.from({ length: BENCH_CORES }, percent),
    cpu_temperature: [round(40 + 40 * random()), round(40 + 40 * random())],
    memory_used: memoryUsed,
    memory_free: round(MEMORY_MB - memoryUsed),
    gpu_usage: Array.from({ length: BENCH_GPUS }, percent),
    gpu_temperature: Array.from({ length: BENCH_GPUS }, () => Math.round(30 + 55 * random())),
    gpu_fraction: Array.from({ length: BENCH_GPUS }, () => round(random(), 3)),
    gpu_memory_free: gpuMemoryUsed.map((used) => GPU_MEMORY_MB - used),
    gpu_memory_used: gpuMemoryUsed,
    network_tx: round(60 * random(), 3),
    network_rx: round(300 * random(), 3),
    disk_free_home: percent(),
    disk_free_temp: percent(),
    disk_read: round(140 * random(), 3),
    disk_write: round(450 * random(), 3),
  };
}

/** Returns the id of benchmark worker `index`, in clearml-agent's `<host>:gpu0,1,...` form. */
export function benchWorkerId(prefix: string, index: number): string {
  const cards = Array.from({ length: BENCH_GPUS }, (_, card) => card).join(',');

  return `${prefix}-${String(index).padStart(4, '0')}:gpu${cards}`;
}

/** Returns a ClearML-style task id (32 hexadecimal digits) for benchmark worker `index`. */
export function benchTaskId(index: number): string {
  return index.toString(16).padStart(32, 'b');
}
