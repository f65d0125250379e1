// How xpu-smi (Intel data-centre GPUs) output becomes DeviceSamples. Pure, so
// it is tested directly against captured bytes.
//
// `xpu-smi dump` prints CSV whose column headers are human text that changes
// between releases (metric 0 was "Average % utilization of all GPU Engines",
// later "GPU Utilization (%)"). Columns are therefore matched to the numeric
// metric ids of `dump -m`, the stable interface, through every header text the
// tool is known to have printed for an id (xpumanager's dump metric table).

import { emptyDevice, normalizePciBusId, type DeviceIdentity, type DeviceSample, type ErrorType, type InfoKey, type TemperatureSensor } from '../../model.ts';
import { MHZ, MIB, ParseError, isAbsent, parseJsonObject, parseNumber } from '../values.ts';

/** Dump metric ids we ask for, with what they become. */
export const XPU_METRIC = {
  gpuUtilization: 0,
  power: 1,
  gpuFrequency: 2,
  coreTemperature: 3,
  memoryTemperature: 4,
  memoryBandwidthUtilization: 17,
  memoryUsed: 18,
  memoryErrorsCorrectable: 29,
  memoryErrorsUncorrectable: 30,
} as const;

export const XPU_DUMP_METRICS: readonly number[] = Object.values(XPU_METRIC);

/** Header texts xpu-smi prints per metric id, lower-cased; several where a release renamed it. */
const HEADER_IDS: ReadonlyMap<string, number> = new Map([
  ['gpu utilization (%)', 0],
  ['average % utilization of all gpu engines', 0],
  ['gpu power (w)', 1],
  ['gpu frequency (mhz)', 2],
  ['gpu core temperature (celsius degree)', 3],
  ['gpu memory temperature (celsius degree)', 4],
  ['gpu memory utilization (%)', 5],
  ['gpu memory read (kb/s)', 6],
  ['gpu memory write (kb/s)', 7],
  ['gpu energy consumed (j)', 8],
  ['gpu eu array active (%)', 9],
  ['gpu eu array stall (%)', 10],
  ['gpu eu array idle (%)', 11],
  ['reset counter', 12],
  ['programming errors', 13],
  ['driver errors', 14],
  ['cache errors correctable', 15],
  ['cache errors uncorrectable', 16],
  ['gpu memory bandwidth utilization (%)', 17],
  ['gpu memory used (mib)', 18],
  ['pcie read (kb/s)', 19],
  ['pcie write (kb/s)', 20],
  ['gpu memory errors correctable', 29],
  ['gpu memory errors uncorrectable', 30],
  ['media engine frequency (mhz)', 36],
]);

export interface XpuDevice {
  readonly id: DeviceIdentity;
  /** xpu-smi's own device id, the `-d` argument and the dump's DeviceId column. */
  readonly deviceId: string;
}


/** The error text of a JSON error answer (`{"error": "..."}`), if it is one. */
export function jsonError(stdout: string): string | undefined {
  try {
    const doc = JSON.parse(stdout) as { error?: unknown };
    return typeof doc?.error === 'string' ? doc.error : undefined;
  } catch {
    return undefined;
  }
}

function str(v: unknown): string | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string') return undefined;
  const t = v.trim();
  return t === '' || t.toLowerCase() === 'unknown' || t === 'N/A' ? undefined : t;
}

/** `xpu-smi discovery -j`: the device list. Entries without a device id or uuid are skipped. */
export function parseDiscovery(stdout: string): XpuDevice[] {
  const doc = parseJsonObject(stdout, 'xpu-smi discovery output');
  const list = doc.device_list;
  if (!Array.isArray(list)) throw new ParseError('xpu-smi discovery output has no device_list');
  const out: XpuDevice[] = [];
  for (const raw of list) {
    if (typeof raw !== 'object' || raw === null) continue;
    const d = raw as Record<string, unknown>;
    const deviceId = str(d.device_id);
    const uuid = str(d.uuid);
    if (deviceId === undefined || uuid === undefined) continue;
    out.push({
      deviceId,
      id: {
        vendor: 'intel',
        uuid,
        pciBusId: normalizePciBusId(str(d.pci_bdf_address) ?? ''),
        index: deviceId,
        model: str(d.device_name) ?? '',
      },
    });
  }
  return out;
}

export interface XpuDetail {
  readonly memoryTotalBytes?: number;
  /** `number_of_tiles`; more than one means `stats -j` is read for per-tile values. */
  readonly tiles?: number;
  readonly info: Partial<Record<InfoKey, string>>;
}

/** `xpu-smi discovery -d <id> -j`: static properties (every value is a string there). */
export function parseDiscoveryDetail(stdout: string): XpuDetail {
  const doc = parseJsonObject(stdout, 'xpu-smi discovery -d output');
  const info: Partial<Record<InfoKey, string>> = {};
  const driver = str(doc.driver_version);
  if (driver) info.driver_version = driver;
  const serial = str(doc.serial_number);
  if (serial) info.serial = serial;
  const ecc = str(doc.memory_ecc_state);
  if (ecc) info.ecc_mode = ecc;
  return { memoryTotalBytes: parseNumber(str(doc.memory_physical_size_byte)), tiles: parseNumber(str(doc.number_of_tiles)), info };
}

export interface XpuDumpParse {
  /** Values by DeviceId, then by metric id; absent values are left out. */
  readonly values: Map<string, Map<number, number>>;
  /** Header columns no metric id could be found for. */
  readonly unknownColumns: string[];
}

/**
 * `xpu-smi dump -d <ids> -m <metrics> -n 1` CSV. A header text we know gives
 * its id; an unknown one falls back to its position in the `-m` list, when
 * the column count says positions line up.
 */
export function parseDump(stdout: string, requested: readonly number[]): XpuDumpParse {
  const lines = stdout.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = (lines[0] ?? '').split(',').map((h) => h.trim());
  const devCol = header.findIndex((h) => h.toLowerCase() === 'deviceid');
  if (devCol < 0) throw new ParseError(`unexpected xpu-smi dump output: ${(lines[0] ?? '').slice(0, 200)}`);
  const metricCols = header.map((_, i) => i).filter((i) => i !== devCol && header[i]!.toLowerCase() !== 'timestamp' && header[i]!.toLowerCase() !== 'tileid');
  const positional = metricCols.length === requested.length;
  const ids = new Map<number, number>();
  const unknownColumns: string[] = [];
  metricCols.forEach((col, pos) => {
    const known = HEADER_IDS.get(header[col]!.toLowerCase());
    if (known !== undefined) ids.set(col, known);
    else if (positional) ids.set(col, requested[pos]!);
    else unknownColumns.push(header[col]!);
  });
  const values = new Map<string, Map<number, number>>();
  for (const line of lines.slice(1)) {
    const cols = line.split(',').map((c) => c.trim());
    if (cols.length !== header.length) continue;
    const dev = cols[devCol]!;
    // With more than one sample per device the last one is the newest.
    const row = new Map<number, number>();
    for (const [col, id] of ids) {
      const v = isAbsent(cols[col]) ? undefined : parseNumber(cols[col]);
      if (v !== undefined) row.set(id, v);
    }
    values.set(dev, row);
  }
  return { values, unknownColumns };
}

/** One device's sample from its identity, static detail and dump row. */
export function xpuDeviceSample(dev: XpuDevice, detail: XpuDetail | undefined, row: ReadonlyMap<number, number> | undefined): DeviceSample {
  const m = (id: number) => row?.get(id);
  const temperatures: { key: TemperatureSensor; value: number }[] = [];
  const core = m(XPU_METRIC.coreTemperature);
  if (core !== undefined) temperatures.push({ key: 'gpu', value: core });
  const mem = m(XPU_METRIC.memoryTemperature);
  if (mem !== undefined) temperatures.push({ key: 'memory', value: mem });
  const errors: { key: ErrorType; value: number }[] = [];
  const corr = m(XPU_METRIC.memoryErrorsCorrectable);
  if (corr !== undefined) errors.push({ key: 'ecc_corrected', value: corr });
  const uncorr = m(XPU_METRIC.memoryErrorsUncorrectable);
  if (uncorr !== undefined) errors.push({ key: 'ecc_uncorrected', value: uncorr });
  const util = m(XPU_METRIC.gpuUtilization);
  const bw = m(XPU_METRIC.memoryBandwidthUtilization);
  const used = m(XPU_METRIC.memoryUsed);
  const freq = m(XPU_METRIC.gpuFrequency);
  return {
    ...emptyDevice(dev.id),
    info: detail?.info ?? {},
    utilizationRatio: util === undefined ? undefined : util / 100,
    memoryControllerUtilizationRatio: bw === undefined ? undefined : bw / 100,
    // xpu-smi prints MiB with two decimals; bytes are whole.
    memoryUsedBytes: used === undefined ? undefined : Math.round(used * MIB),
    memoryTotalBytes: detail?.memoryTotalBytes,
    powerWatts: m(XPU_METRIC.power),
    temperaturesCelsius: temperatures,
    errors,
    clocksHertz: freq === undefined ? [] : [{ key: 'graphics', value: freq * MHZ }],
  };
}
