import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { cpuUsagePercent, parseProcStat } from '../../agent/collectors/cpu';
import { diskRates, parseDiskstats, readWholeDiskNames } from '../../agent/collectors/disk';
import { parseMeminfo } from '../../agent/collectors/memory';
import { networkRates, parseNetDev } from '../../agent/collectors/network';
import { readCpuTemperatures } from '../../agent/collectors/temperature';

const PROC_STAT = `cpu  400 20 200 1000 40 5 5 0 0 0
cpu0 100 10 50 350 0 0 0 0 0 0
cpu1 100 10 50 300 40 5 5 0 999 999
intr 12345 0 0
ctxt 67890
`;

const MEMINFO = `MemTotal:       16384000 kB
MemFree:         2048000 kB
MemAvailable:    8192000 kB
Buffers:          102400 kB
Cached:          4096000 kB
`;

const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:  999999     598    0    0    0     0          0         0   999999     598    0    0    0     0       0          0
  eth0: 1048576   14048    0    0    0     0          0         0   524288    6545    0    0    0     0       0          0
 wlan0:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
`;

const DISKSTATS = `   7       0 loop0 10 0 4096 0 0 0 0 0 0 0 0 0 0 0 0 0 0
 254       0 vda 53497 9953 2000000 19219 39914 40844 4000000 31932 0 8592 52307 0 0 0 0 0 0
 254       1 vda1 53000 9953 1999000 19219 39914 40844 3999000 31932 0 8592 52307 0 0 0 0 0 0
`;

const temporaryDirectories: string[] = [];

async function makeTemporaryDirectory(): Promise<string> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'agent-collectors-'));
  temporaryDirectories.push(directory);

  return directory;
}

async function writeTree(root: string, files: Record<string, string>): Promise<void> {
  for (const [file, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), content);
  }
}

afterEach(async () => {
  await Promise.all(temporaryDirectories.splice(0).map((directory) => rm(directory, { recursive: true, force: true })));
});

describe('parseProcStat', () => {
  it('reads per-core ticks only', () => {
    expect(parseProcStat(PROC_STAT)).toEqual([
      { cpu: 0, total: 510, idle: 350 },
      // Guest columns (999) are already inside user and nice, so they are not added again.
      { cpu: 1, total: 510, idle: 340 },
    ]);
  });
});

describe('cpuUsagePercent', () => {
  it('computes busy share per core', () => {
    const previous = [
      { cpu: 0, total: 1000, idle: 800 },
      { cpu: 1, total: 1000, idle: 900 },
    ];
    const current = [
      { cpu: 0, total: 1100, idle: 850 },
      { cpu: 1, total: 1200, idle: 900 },
    ];

    expect(cpuUsagePercent(previous, current)).toEqual([50, 100]);
  });

  it('reports 0 without elapsed ticks', () => {
    const reading = [{ cpu: 0, total: 1000, idle: 800 }];

    expect(cpuUsagePercent(reading, reading)).toEqual([0]);
  });

  it('skips a newly online core', () => {
    const previous = [{ cpu: 0, total: 1000, idle: 800 }];
    const current = [
      { cpu: 0, total: 1100, idle: 825 },
      { cpu: 1, total: 50, idle: 10 },
    ];

    expect(cpuUsagePercent(previous, current)).toEqual([75]);
  });
});

describe('parseMeminfo', () => {
  it('returns used and available MB', () => {
    expect(parseMeminfo(MEMINFO)).toEqual({ usedMb: 8000, freeMb: 8000 });
  });

  it('estimates missing MemAvailable', () => {
    const oldKernel = MEMINFO.replace(/^MemAvailable.*\n/m, '');

    expect(parseMeminfo(oldKernel)).toEqual({ usedMb: 9900, freeMb: 6100 });
  });

  it('rejects text without MemTotal', () => {
    expect(() => parseMeminfo('MemFree: 100 kB\n')).toThrow('invalid /proc/meminfo: MemTotal is missing');
  });
});

describe('parseNetDev and networkRates', () => {
  it('skips the loopback interface', () => {
    expect([...parseNetDev(NET_DEV).keys()]).toEqual(['eth0', 'wlan0']);
  });

  it('sums MB/s over common interfaces', () => {
    const previous = new Map([
      ['eth0', { rxBytes: 0, txBytes: 0 }],
      ['wlan0', { rxBytes: 0, txBytes: 0 }],
    ]);
    const current = new Map([
      ['eth0', { rxBytes: 4 * 1048576, txBytes: 1048576 }],
      ['wlan0', { rxBytes: 2 * 1048576, txBytes: 1048576 }],
      ['docker0', { rxBytes: 50 * 1048576, txBytes: 0 }],
    ]);

    expect(networkRates(previous, current, 2)).toEqual({ rxMbPerSecond: 3, txMbPerSecond: 1 });
  });

  it('treats a counter reset as zero', () => {
    const previous = new Map([['eth0', { rxBytes: 5000, txBytes: 5000 }]]);
    const current = new Map([['eth0', { rxBytes: 100, txBytes: 5000 + 1048576 }]]);

    expect(networkRates(previous, current, 1)).toEqual({ rxMbPerSecond: 0, txMbPerSecond: 1 });
  });
});

describe('parseDiskstats and diskRates', () => {
  it('reads sector counters per device', () => {
    expect(parseDiskstats(DISKSTATS).get('vda')).toEqual({ sectorsRead: 2000000, sectorsWritten: 4000000 });
  });

  it('converts whole-disk sectors to MB/s', () => {
    const previous = parseDiskstats(DISKSTATS);
    const current = new Map(previous);
    // 4096 sectors of 512 bytes = 2 MB read, 8192 sectors = 4 MB written, over 2 s.
    current.set('vda', { sectorsRead: 2000000 + 4096, sectorsWritten: 4000000 + 8192 });
    current.set('vda1', { sectorsRead: 1999000 + 4096, sectorsWritten: 3999000 + 8192 });

    expect(diskRates(previous, current, new Set(['vda']), 2)).toEqual({ readMbPerSecond: 1, writeMbPerSecond: 2 });
  });
});

describe('readWholeDiskNames', () => {
  it('skips virtual block devices', async () => {
    const sysRoot = await makeTemporaryDirectory();
    await mkdir(path.join(sysRoot, 'block'));
    await symlink('../devices/pci0000:00/0000:00:02.0/virtio1/block/vda', path.join(sysRoot, 'block', 'vda'));
    await symlink('../devices/pci0000:00/0000:00:1d.0/nvme/nvme0/nvme0n1', path.join(sysRoot, 'block', 'nvme0n1'));
    await symlink('../devices/virtual/block/loop0', path.join(sysRoot, 'block', 'loop0'));
    await symlink('../devices/virtual/block/dm-0', path.join(sysRoot, 'block', 'dm-0'));

    const disks = await readWholeDiskNames(sysRoot, new Map());

    expect([...disks].sort()).toEqual(['nvme0n1', 'vda']);
  });

  it('falls back to device names', async () => {
    const sysRoot = await makeTemporaryDirectory();
    const names = ['sda', 'sda1', 'nvme0n1', 'nvme0n1p2', 'mmcblk0', 'mmcblk0p1', 'loop3', 'zram0', 'dm-1', 'md127'];
    const counters = new Map(names.map((name) => [name, { sectorsRead: 0, sectorsWritten: 0 }]));

    const disks = await readWholeDiskNames(sysRoot, counters);

    expect([...disks]).toEqual(['sda', 'nvme0n1', 'mmcblk0']);
  });
});

describe('readCpuTemperatures', () => {
  it('reads CPU hwmon sensors in order', async () => {
    const sysRoot = await makeTemporaryDirectory();
    await writeTree(sysRoot, {
      'class/hwmon/hwmon0/name': 'acpitz\n',
      'class/hwmon/hwmon0/temp1_input': '27800\n',
      'class/hwmon/hwmon1/name': 'coretemp\n',
      'class/hwmon/hwmon1/temp1_input': '45000\n',
      'class/hwmon/hwmon1/temp10_input': '50500\n',
      'class/hwmon/hwmon1/temp2_input': '47000\n',
      'class/hwmon/hwmon1/temp2_label': 'Core 0\n',
      'class/thermal/thermal_zone0/type': 'x86_pkg_temp\n',
      'class/thermal/thermal_zone0/temp': '99000\n',
    });

    expect(await readCpuTemperatures(sysRoot)).toEqual([45, 47, 50.5]);
  });

  it('falls back to CPU thermal zones', async () => {
    const sysRoot = await makeTemporaryDirectory();
    await writeTree(sysRoot, {
      'class/thermal/thermal_zone0/type': 'acpitz\n',
      'class/thermal/thermal_zone0/temp': '27800\n',
      'class/thermal/thermal_zone1/type': 'x86_pkg_temp\n',
      'class/thermal/thermal_zone1/temp': '52000\n',
      'class/thermal/thermal_zone2/type': 'cpu-thermal\n',
      'class/thermal/thermal_zone2/temp': 'not a number\n',
    });

    expect(await readCpuTemperatures(sysRoot)).toEqual([52]);
  });

  it('returns an empty list without sensors', async () => {
    const sysRoot = await makeTemporaryDirectory();

    expect(await readCpuTemperatures(sysRoot)).toEqual([]);
  });
});
