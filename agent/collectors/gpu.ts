import { execFile } from 'node:child_process';

/** The fields queried from nvidia-smi, in the order of its CSV columns. */
export const NVIDIA_SMI_QUERY_FIELDS = ['index', 'utilization.gpu', 'memory.used', 'memory.free', 'temperature.gpu'] as const;

export const NVIDIA_SMI_ARGS = [`--query-gpu=${NVIDIA_SMI_QUERY_FIELDS.join(',')}`, '--format=csv,noheader,nounits'];

/** Time limit of one nvidia-smi run, in milliseconds, because nvidia-smi can hang while the driver is stuck. */
const NVIDIA_SMI_TIMEOUT_MS = 5_000;

/** One card's reading; a field is undefined when nvidia-smi reports it as not available. */
export interface GpuReading {
  index: number;
  /** Utilization, in percent. */
  usage: number | undefined;
  /** In MB (MiB, as nvidia-smi prints them). */
  memoryUsed: number | undefined;
  /** In MB (MiB, as nvidia-smi prints them). */
  memoryFree: number | undefined;
  /** In °C. */
  temperature: number | undefined;
}

/** Per-card arrays in card order; a metric is absent when any card lacks its value. */
export interface GpuStats {
  gpu_usage?: number[];
  gpu_memory_used?: number[];
  gpu_memory_free?: number[];
  gpu_temperature?: number[];
}

/**
 * Parses the output of `nvidia-smi --query-gpu=index,utilization.gpu,memory.used,
 * memory.free,temperature.gpu --format=csv,noheader,nounits`, one line per card.
 * Values such as `[N/A]` or `[Not Supported]` (MIG instances, some laptops) become
 * undefined. Lines with another column count or no integer index are skipped. Readings
 * are sorted by index.
 */
export function parseNvidiaSmiCsv(text: string): GpuReading[] {
  const readings: GpuReading[] = [];

  for (const line of text.split(/\r?\n/)) {
    const columns = line.split(',').map((column) => column.trim());
    if (columns.length !== NVIDIA_SMI_QUERY_FIELDS.length || !/^\d+$/.test(columns[0])) {
      continue;
    }

    const [index, usage, memoryUsed, memoryFree, temperature] = columns;
    readings.push({
      index: Number(index),
      usage: parseValue(usage),
      memoryUsed: parseValue(memoryUsed),
      memoryFree: parseValue(memoryFree),
      temperature: parseValue(temperature),
    });
  }

  return readings.sort((a, b) => a.index - b.index);
}

/**
 * Turns per-card readings into machine_stats arrays. Array position is the card's
 * variant, so a metric that any card lacks is left out for all of them rather than
 * shifting later cards to the wrong variant.
 */
export function toGpuStats(readings: GpuReading[]): GpuStats {
  const stats: GpuStats = {};
  if (readings.length === 0) {
    return stats;
  }

  const fields = [
    ['gpu_usage', 'usage'],
    ['gpu_memory_used', 'memoryUsed'],
    ['gpu_memory_free', 'memoryFree'],
    ['gpu_temperature', 'temperature'],
  ] as const;
  for (const [metric, field] of fields) {
    const values = readings.map((reading) => reading[field]);
    if (values.every((value): value is number => value !== undefined)) {
      stats[metric] = values;
    }
  }

  return stats;
}

/** The outcome of one nvidia-smi run: `missing` when the executable does not exist. */
export type NvidiaSmiResult =
  | { status: 'ok'; stats: GpuStats }
  | { status: 'missing' }
  | { status: 'failed'; error: Error };

/** Runs nvidia-smi (by default the one on PATH) and parses its output. Never rejects. */
export function readGpuStats(executable = 'nvidia-smi'): Promise<NvidiaSmiResult> {
  return new Promise((resolve) => {
    execFile(executable, NVIDIA_SMI_ARGS, { timeout: NVIDIA_SMI_TIMEOUT_MS, encoding: 'utf8' }, (error, stdout) => {
      if ((error as NodeJS.ErrnoException | null)?.code === 'ENOENT') {
        resolve({ status: 'missing' });
      } else if (error) {
        resolve({ status: 'failed', error });
      } else {
        resolve({ status: 'ok', stats: toGpuStats(parseNvidiaSmiCsv(stdout)) });
      }
    });
  });
}

function parseValue(text: string): number | undefined {
  if (!/^-?\d+(\.\d+)?$/.test(text)) {
    return undefined;
  }

  return Number(text);
}
