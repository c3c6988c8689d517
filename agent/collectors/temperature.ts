import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/** hwmon chip names of CPU sensors: Intel, AMD (two drivers) and ARM boards such as the Raspberry Pi. */
const CPU_HWMON_CHIPS = new Set(['coretemp', 'k10temp', 'zenpower', 'cpu_thermal', 'cpu-thermal', 'soc_thermal']);

/** Thermal zone types that measure the CPU package or cores (x86_pkg_temp, cpu-thermal, cpu0-thermal, soc-thermal). */
const CPU_THERMAL_ZONE_TYPE = /^(x86_pkg_temp|cpu|soc)/i;

/**
 * Reads the CPU temperatures the kernel exposes, in °C, in a stable order. The hwmon
 * sensors of CPU chips come first because they are per core or per package. Without
 * them, thermal zones of CPU types are used. Other sensors (ACPI board zones, disks,
 * Wi-Fi cards) are skipped. Returns an empty list when no CPU sensor exists, as on most
 * virtual machines.
 */
export async function readCpuTemperatures(sysRoot: string): Promise<number[]> {
  const fromHwmon = await readHwmonCpuTemperatures(path.join(sysRoot, 'class', 'hwmon'));
  if (fromHwmon.length > 0) {
    return fromHwmon;
  }

  return readThermalZoneCpuTemperatures(path.join(sysRoot, 'class', 'thermal'));
}

async function readHwmonCpuTemperatures(hwmonDir: string): Promise<number[]> {
  const temperatures: number[] = [];

  for (const chip of await listNumbered(hwmonDir, 'hwmon')) {
    const chipDir = path.join(hwmonDir, chip);
    const name = (await readText(path.join(chipDir, 'name')))?.trim();
    if (!name || !CPU_HWMON_CHIPS.has(name)) {
      continue;
    }

    const inputs = (await readdir(chipDir).catch(() => [] as string[]))
      .filter((file) => /^temp\d+_input$/.test(file))
      .sort((a, b) => numberIn(a) - numberIn(b));
    for (const input of inputs) {
      const celsius = parseMillidegrees(await readText(path.join(chipDir, input)));
      if (celsius !== undefined) {
        temperatures.push(celsius);
      }
    }
  }

  return temperatures;
}

async function readThermalZoneCpuTemperatures(thermalDir: string): Promise<number[]> {
  const temperatures: number[] = [];

  for (const zone of await listNumbered(thermalDir, 'thermal_zone')) {
    const zoneDir = path.join(thermalDir, zone);
    const type = (await readText(path.join(zoneDir, 'type')))?.trim();
    if (!type || !CPU_THERMAL_ZONE_TYPE.test(type)) {
      continue;
    }

    const celsius = parseMillidegrees(await readText(path.join(zoneDir, 'temp')));
    if (celsius !== undefined) {
      temperatures.push(celsius);
    }
  }

  return temperatures;
}

/** Lists the entries named `<prefix><number>` in numeric order (hwmon2 before hwmon10). */
async function listNumbered(directory: string, prefix: string): Promise<string[]> {
  const entries = await readdir(directory).catch(() => [] as string[]);
  const pattern = new RegExp(`^${prefix}\\d+$`);

  return entries.filter((entry) => pattern.test(entry)).sort((a, b) => numberIn(a) - numberIn(b));
}

function numberIn(name: string): number {
  return Number(/\d+/.exec(name)?.[0] ?? 0);
}

/** Sysfs temperatures are integers in millidegrees Celsius; unreadable sensors give errors or junk. */
function parseMillidegrees(text: string | undefined): number | undefined {
  if (text === undefined || !/^-?\d+$/.test(text.trim())) {
    return undefined;
  }

  return Number(text.trim()) / 1000;
}

// Sensor files may fail to read (EIO, ENODATA) while the device sleeps: treat as absent.
async function readText(file: string): Promise<string | undefined> {
  return readFile(file, 'utf8').catch(() => undefined);
}
