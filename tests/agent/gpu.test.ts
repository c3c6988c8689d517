import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { NVIDIA_SMI_ARGS, parseNvidiaSmiCsv, readGpuStats, toGpuStats } from '../../agent/collectors/gpu';

// Output of nvidia-smi 535 for the daemon's query, on a machine with two A100 cards.
const TWO_CARDS = '0, 87, 40536, 40424, 64\n1, 3, 4, 80956, 38\n';

// A MIG-enabled card reports no utilization; lines arrive out of order here.
const MIG_AND_FULL = '1, 12, 1000, 9000, 45\n0, [N/A], 500, 9500, 50\n';

let binDirectory: string;

beforeAll(async () => {
  binDirectory = await mkdtemp(path.join(os.tmpdir(), 'agent-gpu-'));
});

afterAll(async () => {
  await rm(binDirectory, { recursive: true, force: true });
});

async function writeScript(name: string, body: string): Promise<string> {
  const file = path.join(binDirectory, name);
  await writeFile(file, `#!/bin/sh\n${body}\n`);
  await chmod(file, 0o755);

  return file;
}

describe('parseNvidiaSmiCsv', () => {
  it('parses one reading per card', () => {
    expect(parseNvidiaSmiCsv(TWO_CARDS)).toEqual([
      { index: 0, usage: 87, memoryUsed: 40536, memoryFree: 40424, temperature: 64 },
      { index: 1, usage: 3, memoryUsed: 4, memoryFree: 80956, temperature: 38 },
    ]);
  });

  it('maps N/A to undefined', () => {
    expect(parseNvidiaSmiCsv(MIG_AND_FULL)).toEqual([
      { index: 0, usage: undefined, memoryUsed: 500, memoryFree: 9500, temperature: 50 },
      { index: 1, usage: 12, memoryUsed: 1000, memoryFree: 9000, temperature: 45 },
    ]);
  });

  it('skips malformed lines', () => {
    const text = 'index, utilization.gpu [%], memory.used [MiB], memory.free [MiB], temperature.gpu\r\n\r\n0, 5, 1, 2\r\n2, 50, 10, 20, 30\r\n';

    expect(parseNvidiaSmiCsv(text)).toEqual([{ index: 2, usage: 50, memoryUsed: 10, memoryFree: 20, temperature: 30 }]);
  });

  it('ignores an error message', () => {
    const text = 'NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver.\n';

    expect(parseNvidiaSmiCsv(text)).toEqual([]);
  });
});

describe('toGpuStats', () => {
  it('builds per-card arrays', () => {
    expect(toGpuStats(parseNvidiaSmiCsv(TWO_CARDS))).toEqual({
      gpu_usage: [87, 3],
      gpu_memory_used: [40536, 4],
      gpu_memory_free: [40424, 80956],
      gpu_temperature: [64, 38],
    });
  });

  it('omits a metric that any card lacks', () => {
    expect(toGpuStats(parseNvidiaSmiCsv(MIG_AND_FULL))).toEqual({
      gpu_memory_used: [500, 1000],
      gpu_memory_free: [9500, 9000],
      gpu_temperature: [50, 45],
    });
  });

  it('returns no metric without cards', () => {
    expect(toGpuStats([])).toEqual({});
  });
});

describe('readGpuStats', () => {
  it('runs the CSV query', async () => {
    const argsFile = path.join(binDirectory, 'args.txt');
    const executable = await writeScript('nvidia-smi-ok', `echo "$@" > '${argsFile}'\nprintf '${TWO_CARDS.replace(/\n/g, '\\n')}'`);

    const result = await readGpuStats(executable);

    expect(result).toEqual({
      status: 'ok',
      stats: { gpu_usage: [87, 3], gpu_memory_used: [40536, 4], gpu_memory_free: [40424, 80956], gpu_temperature: [64, 38] },
    });
    expect((await readFile(argsFile, 'utf8')).trim()).toBe(NVIDIA_SMI_ARGS.join(' '));
  });

  it('reports a missing executable', async () => {
    expect(await readGpuStats(path.join(binDirectory, 'no-such-nvidia-smi'))).toEqual({ status: 'missing' });
  });

  it('reports a failing executable', async () => {
    const executable = await writeScript('nvidia-smi-broken', 'echo "NVIDIA-SMI has failed" >&2\nexit 9');

    const result = await readGpuStats(executable);

    expect(result.status).toBe('failed');
    expect((result as { error: Error }).error.message).toContain('NVIDIA-SMI has failed');
  });
});
