// How `amd-smi static|metric|process --json` output becomes DeviceSamples.
// Pure: no I/O, so every JSON shape is tested directly against captures.
//
// Shapes handled (see test/fixtures/amd/SOURCES.md):
// - ROCm 6.0: top-level array, plain numbers, keys gfx_usage/current_power.
// - ROCm 6.1+: leaves are {"value","unit"}; keys gfx_activity/socket_power.
// - ROCm 6.3: per-instance arrays mixing {"value","unit"} and "N/A".
// - ROCm 7.x: static/metric wrapped in {"gpu_data": [...]}; process still an array.
// - "N/A" anywhere: a whole section, an array element, a value, or inside {"value"}.

import {
  emptyDevice,
  normalizePciBusId,
  type ClockDomain,
  type DeviceSample,
  type Engine,
  type InfoKey,
  type LabelledValue,
  type ProcessSample,
  type TemperatureSensor,
} from '../../model.ts';
import { DECIMAL_RE, ParseError } from '../values.ts';

type Json = unknown;
type Obj = Record<string, Json>;

function isObj(v: Json): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function get(v: Json, ...path: string[]): Json {
  let cur = v;
  for (const k of path) {
    if (!isObj(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

/** The per-GPU records: a bare array (ROCm <7) or {"gpu_data": [...]} (ROCm >= 7). */
export function gpuRecords(doc: Json): Obj[] {
  const list = Array.isArray(doc) ? doc : isObj(doc) && Array.isArray(doc['gpu_data']) ? doc['gpu_data'] : undefined;
  if (!list) throw new ParseError('expected a JSON array or an object with "gpu_data"');
  return list.filter(isObj);
}

/** Parses tool output; amd-smi may print warnings before the JSON document. */
export function parseJsonOutput(stdout: string): Json {
  const start = stdout.search(/^[[{]/m);
  if (start < 0) throw new ParseError('no JSON document in the output');
  try {
    return JSON.parse(stdout.slice(start));
  } catch (err) {
    throw new ParseError(`invalid JSON: ${(err as Error).message}`);
  }
}

function numberOf(v: Json): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && DECIMAL_RE.test(v.trim())) return Number(v.trim());
  return undefined;
}

export interface Quantity {
  readonly value: number;
  /** What the tool said; undefined for ROCm 6.0 plain numbers. */
  readonly unit: string | undefined;
}

/** A leaf as {"value","unit"}, a plain number, or absent ("N/A", missing, odd). */
export function quantity(v: Json): Quantity | undefined {
  if (isObj(v)) {
    const value = numberOf(v['value']);
    return value === undefined ? undefined : { value, unit: typeof v['unit'] === 'string' ? v['unit'] : undefined };
  }
  const value = numberOf(v);
  return value === undefined ? undefined : { value, unit: undefined };
}

// Factors to the exporter's base units, keyed by what amd-smi prints. amd-smi's
// "MB" is MiB: the CLI divides the library's bytes by 1024*1024 and labels it MB
// (amdsmi_cli/amdsmi_commands.py, metric mem_usage).
const UNITS: Record<string, Record<string, number>> = {
  bytes: { B: 1, KB: 1024, KiB: 1024, MB: 1024 ** 2, MiB: 1024 ** 2, GB: 1024 ** 3, GiB: 1024 ** 3 },
  watts: { W: 1, mW: 1e-3, uW: 1e-6, 'µW': 1e-6 },
  joules: { J: 1, mJ: 1e-3, uJ: 1e-6, 'µJ': 1e-6, kJ: 1e3 },
  celsius: { C: 1, '°C': 1 },
  ratio: { '%': 0.01 },
  hertz: { Hz: 1, KHz: 1e3, kHz: 1e3, MHz: 1e6, GHz: 1e9 },
  bytesPerSecond: { 'B/s': 1, 'KB/s': 1e3, 'MB/s': 1e6, 'GB/s': 1e9, 'Mb/s': 1e6 / 8, 'Gb/s': 1e9 / 8 },
  transfers: { 'GT/s': 1 },
};

/**
 * The value in the exporter's unit. A unit the table does not know makes the
 * value absent. A plain number (ROCm 6.0, before JSON carried units) is read in
 * the unit that release's CLI printed for the field (`legacy`).
 */
export function convert(q: Quantity | undefined, kind: keyof typeof UNITS, legacy?: string): number | undefined {
  if (!q) return undefined;
  const unit = q.unit ?? legacy;
  if (unit === undefined) return undefined;
  const f = UNITS[kind]![unit];
  if (f === undefined) return undefined;
  // Dividing keeps 35 % exactly 0.35 (35 * 0.01 is 0.35000000000000003).
  return kind === 'ratio' ? q.value / 100 : q.value * f;
}

/** The first present leaf among several keys (amd-smi renamed keys across releases). */
function first(section: Json, ...keys: string[]): Quantity | undefined {
  for (const k of keys) {
    const q = quantity(get(section, k));
    if (q) return q;
  }
  return undefined;
}

/** The mean of the instances reported in a per-instance array (VCN, JPEG, XCP). */
function meanOf(v: Json, kind: keyof typeof UNITS, legacy?: string): number | undefined {
  const list = Array.isArray(v) ? v : isObj(v) && !('value' in v) ? Object.values(v).flat() : [v];
  const vals = list.map((x) => convert(quantity(x), kind, legacy)).filter((x): x is number => x !== undefined);
  return vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : undefined;
}

function text(v: Json): string | undefined {
  if (typeof v === 'number') return String(v);
  if (typeof v !== 'string') return undefined;
  const t = v.trim();
  return t === '' || t === 'N/A' ? undefined : t;
}

/** ACTIVE/THROTTLED/true/1 as 1; NOT ACTIVE/UNTHROTTLED/false/0 as 0; else absent. */
function flag(v: Json): number | undefined {
  if (typeof v === 'boolean') return v ? 1 : 0;
  const q = quantity(v);
  if (q && (q.value === 0 || q.value === 1)) return q.value;
  switch (typeof v === 'string' ? v.trim().toUpperCase() : '') {
    case 'ACTIVE':
    case 'THROTTLED':
    case 'TRUE':
      return 1;
    case 'NOT ACTIVE':
    case 'UNTHROTTLED':
    case 'FALSE':
      return 0;
    default:
      return undefined;
  }
}

const PCIE_GEN_BY_GTS: Record<number, number> = { 2.5: 1, 5: 2, 8: 3, 16: 4, 32: 5, 64: 6 };

/** Static identity and properties of one GPU (or partition) from `amd-smi static`. */
export interface StaticInfo {
  readonly gpu: number;
  readonly physicalId: string;
  readonly pciBusId: string;
  readonly model: string;
  readonly partitionId: number | undefined;
  readonly computePartition: string | undefined;
  readonly info: Partial<Record<InfoKey, string>>;
  readonly powerLimitWatts: number | undefined;
}

const NULL_SERIAL_RE = /^(0x)?0*$/i;

export function parseStatic(doc: Json): Map<number, StaticInfo> {
  const out = new Map<number, StaticInfo>();
  for (const r of gpuRecords(doc)) {
    const gpu = numberOf(r['gpu']);
    if (gpu === undefined) continue;
    const serial = text(get(r, 'asic', 'asic_serial'));
    const bdf = normalizePciBusId(text(get(r, 'bus', 'bdf')) ?? '');
    const stable = text(r['uuid']) ?? text(get(r, 'asic', 'unique_id')) ?? (serial && !NULL_SERIAL_RE.test(serial) ? serial : undefined);
    const limit = get(r, 'limit');
    out.set(gpu, {
      gpu,
      physicalId: stable ?? bdf,
      pciBusId: bdf,
      model: text(get(r, 'asic', 'market_name')) ?? text(get(r, 'board', 'product_name')) ?? '',
      partitionId: numberOf(get(r, 'partition', 'partition_id')),
      computePartition: text(get(r, 'partition', 'compute_partition')) ?? text(get(r, 'partition', 'accelerator_partition')),
      info: dropUndefined({
        driver_version: text(get(r, 'driver', 'version')),
        vbios_version: text(get(r, 'vbios', 'version')) ?? text(get(r, 'ifwi', 'version')),
        serial: text(get(r, 'board', 'product_serial')) ?? serial,
      }),
      powerLimitWatts: convert(first(limit, 'socket_power', 'power_cap'), 'watts', 'W'),
    });
  }
  return out;
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const TEMPERATURES: readonly [string, TemperatureSensor][] = [
  ['edge', 'edge'],
  ['hotspot', 'hotspot'],
  ['mem', 'memory'],
];

// amd-smi clock instances: gfx_N (one per XCD), mem_N, vclk_N; 6.0 used gfx/mem without an index.
const CLOCKS: readonly [RegExp, ClockDomain][] = [
  [/^gfx(_\d+)?$/, 'graphics'],
  [/^mem(_\d+)?$/, 'memory'],
  [/^vclk_?\d*$/, 'video'],
];

const VIOLATIONS = ['prochot', 'ppt', 'socket_thermal', 'vr_thermal', 'hbm_thermal', 'gfx_clk_below_host_limit'];

/** Whether a partition (CPX, DPX, ...) rather than a whole GPU (SPX). */
function isPartition(s: StaticInfo, siblings: number): boolean {
  if (s.computePartition !== undefined) return s.computePartition.toUpperCase() !== 'SPX';
  return siblings > 1;
}

/**
 * Joins `metric` records to `static` records by the `gpu` index. A GPU that
 * `static` did not describe is still exported, keyed by its index, so a newer
 * tool that moves identity fields costs labels, not series.
 */
export function parseMetric(doc: Json, statics: ReadonlyMap<number, StaticInfo>): DeviceSample[] {
  const siblings = new Map<string, number>();
  for (const s of statics.values()) siblings.set(s.physicalId, (siblings.get(s.physicalId) ?? 0) + 1);
  const devices: DeviceSample[] = [];
  for (const r of gpuRecords(doc)) {
    const gpu = numberOf(r['gpu']);
    if (gpu === undefined) continue;
    const s = statics.get(gpu);
    const partition = s !== undefined && s.physicalId !== '' && isPartition(s, siblings.get(s.physicalId) ?? 1);
    const uuid = !s || s.physicalId === '' ? `amd-gpu-${gpu}` : partition ? `${s.physicalId}/xcp${s.partitionId ?? partitionOrdinal(statics, s)}` : s.physicalId;
    const base = emptyDevice({
      vendor: 'amd',
      uuid,
      pciBusId: s?.pciBusId ?? '',
      index: String(gpu),
      model: s?.model ?? '',
      ...(partition ? { parentUuid: s.physicalId } : {}),
    });
    devices.push({ ...base, info: s?.info ?? {}, ...metricFields(r), ...(s?.powerLimitWatts !== undefined ? { powerLimitWatts: s.powerLimitWatts } : {}) });
  }
  return devices;
}

/** ROCm 7 dropped partition_id from static: partitions are listed in order, so count siblings before this one. */
function partitionOrdinal(statics: ReadonlyMap<number, StaticInfo>, s: StaticInfo): number {
  return [...statics.values()].filter((o) => o.physicalId === s.physicalId && o.gpu < s.gpu).length;
}

type MetricFields = Omit<DeviceSample, 'id' | 'info'>;

function metricFields(r: Obj): Partial<MetricFields> {
  const usage = r['usage'];
  const power = r['power'];
  const mem = r['mem_usage'];
  const fields: { -readonly [K in keyof MetricFields]?: MetricFields[K] } = {
    utilizationRatio: convert(first(usage, 'gfx_activity', 'gfx_usage'), 'ratio', '%'),
    memoryControllerUtilizationRatio: convert(first(usage, 'umc_activity', 'mem_usage'), 'ratio', '%'),
    memoryUsedBytes: convert(quantity(get(mem, 'used_vram')), 'bytes', 'MB'),
    memoryTotalBytes: convert(quantity(get(mem, 'total_vram')), 'bytes', 'MB'),
    powerWatts: convert(first(power, 'socket_power', 'current_power', 'average_socket_power'), 'watts', 'W'),
    powerLimitWatts: convert(quantity(get(power, 'power_limit')), 'watts', 'W'),
    energyJoules: convert(quantity(get(r, 'energy', 'total_energy_consumption')), 'joules'),
    fanSpeedRatio: convert(quantity(get(r, 'fan', 'usage')), 'ratio', '%'),
    pcieLinkWidth: quantity(get(r, 'pcie', 'width'))?.value,
    pcieBandwidthBytesPerSecond: convert(quantity(get(r, 'pcie', 'bandwidth')), 'bytesPerSecond'),
  };
  const gts = convert(quantity(get(r, 'pcie', 'speed')), 'transfers', 'GT/s');
  if (gts !== undefined) fields.pcieLinkGeneration = PCIE_GEN_BY_GTS[gts];

  const temps: LabelledValue<TemperatureSensor>[] = [];
  for (const [key, sensor] of TEMPERATURES) {
    const v = convert(quantity(get(r, 'temperature', key)), 'celsius', 'C');
    if (v !== undefined) temps.push({ key: sensor, value: v });
  }
  fields.temperaturesCelsius = temps;

  const ecc = r['ecc'];
  const errors: DeviceSample['errors'][number][] = [];
  const corrected = first(ecc, 'total_correctable_count', 'total_correctable', 'correctable_count');
  const uncorrected = first(ecc, 'total_uncorrectable_count', 'total_uncorrectable', 'uncorrectable_count');
  if (corrected) errors.push({ key: 'ecc_corrected', value: corrected.value });
  if (uncorrected) errors.push({ key: 'ecc_uncorrected', value: uncorrected.value });
  fields.errors = errors;

  const clocks: LabelledValue<ClockDomain>[] = [];
  const maxClocks: LabelledValue<ClockDomain>[] = [];
  const clock = r['clock'];
  for (const [re, domain] of CLOCKS) {
    // The first instance that reports: gfx_0 stands for the device (all XCDs share a target clock).
    const name = isObj(clock) ? Object.keys(clock).find((k) => re.test(k) && first(clock[k], 'clk', 'cur_clk') !== undefined) : undefined;
    if (!name) continue;
    const cur = convert(first(get(clock, name), 'clk', 'cur_clk'), 'hertz', 'MHz');
    const max = convert(quantity(get(clock, name, 'max_clk')), 'hertz', 'MHz');
    if (cur !== undefined) clocks.push({ key: domain, value: cur });
    if (max !== undefined) maxClocks.push({ key: domain, value: max });
  }
  fields.clocksHertz = clocks;
  fields.maxClocksHertz = maxClocks;

  const engines: LabelledValue<Engine>[] = [];
  const vcn = meanOf(get(usage, 'vcn_activity'), 'ratio', '%');
  const jpeg = meanOf(get(usage, 'jpeg_activity'), 'ratio', '%');
  if (vcn !== undefined) engines.push({ key: 'vcn', value: vcn });
  if (jpeg !== undefined) engines.push({ key: 'jpeg', value: jpeg });
  fields.engineUtilizationRatio = engines;

  const events: LabelledValue<string>[] = [];
  const throttled = flag(get(power, 'throttle_status'));
  if (throttled !== undefined) events.push({ key: 'throttled', value: throttled });
  const throttle = r['throttle'];
  for (const v of VIOLATIONS) {
    const active = flag(get(throttle, `${v}_violation_status`));
    if (active !== undefined) events.push({ key: `${v}_violation`, value: active });
  }
  fields.clockEventsActive = events;
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Partial<MetricFields>;
}

/**
 * `amd-smi process --json`: [{"gpu": N, "process_list": [{"process_info": {...}}]}].
 * `process_info` is the string "No running processes detected" on an idle GPU.
 * Memory is VRAM (`memory_usage.vram_mem`), else the process total (`mem_usage`).
 */
export function parseProcesses(doc: Json, devices: readonly DeviceSample[]): ProcessSample[] {
  const byIndex = new Map(devices.map((d) => [d.id.index, d.id.uuid]));
  const out: ProcessSample[] = [];
  for (const r of gpuRecords(doc)) {
    const uuid = byIndex.get(String(numberOf(r['gpu'])));
    const list = r['process_list'];
    if (uuid === undefined || !Array.isArray(list)) continue;
    for (const item of list) {
      const p = get(item, 'process_info');
      const pid = numberOf(get(p, 'pid'));
      if (!isObj(p) || pid === undefined) continue;
      const memory = convert(quantity(get(p, 'memory_usage', 'vram_mem')) ?? quantity(p['mem_usage']), 'bytes', 'B');
      out.push({ deviceUuid: uuid, pid, name: text(p['name']) ?? '', ...(memory !== undefined ? { memoryUsedBytes: memory } : {}) });
    }
  }
  return out;
}
