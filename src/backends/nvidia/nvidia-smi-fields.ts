// What we ask nvidia-smi for, and how each column becomes part of a DeviceSample.
// Pure: no I/O, so the parsers are tested directly against captured bytes.

import {
  emptyDevice,
  normalizePciBusId,
  type ClockDomain,
  type DeviceSample,
  type Engine,
  type InfoKey,
  type LostDevice,
  type ProcessSample,
} from '../../model.ts';
import { MHZ, MIB, ParseError, isAbsent, parseFlag, parseNumber, parseText as text } from '../values.ts';

const RECOVERY_ACTIONS: Record<string, number> = {
  none: 0,
  'gpu reset': 1,
  'node reboot': 2,
  'drain p2p': 3,
  'drain and reset': 4,
};

/**
 * One wanted column: candidate names in order of preference (drivers rename
 * fields), the first one the driver supports is queried.
 */
interface Want {
  readonly id: string;
  readonly names: readonly string[];
}

const w = (id: string, ...names: string[]): Want => ({ id, names: names.length ? names : [id] });

const CLOCK_DOMAINS: readonly ClockDomain[] = ['graphics', 'sm', 'memory', 'video'];
const ENGINES: readonly Engine[] = ['encoder', 'decoder', 'jpeg', 'ofa'];
export const CLOCK_EVENT_REASONS = [
  'gpu_idle',
  'applications_clocks_setting',
  'sw_power_cap',
  'hw_slowdown',
  'hw_thermal_slowdown',
  'hw_power_brake_slowdown',
  'sw_thermal_slowdown',
  'sync_boost',
] as const;
const CLOCK_EVENT_COUNTERS = [
  'sw_power_cap',
  'sync_boost',
  'sw_thermal_slowdown',
  'hw_thermal_slowdown',
  'hw_power_brake_slowdown',
] as const;

/** Identity columns: a row without uuid is unusable, so these are required. */
const IDENTITY: readonly Want[] = [w('uuid'), w('pci.bus_id'), w('index'), w('name')];

const WANTED: readonly Want[] = [
  ...IDENTITY,
  w('driver_version', 'kmd_version', 'driver_version'),
  w('vbios_version'),
  w('serial'),
  w('compute_cap'),
  w('mig.mode.current'),
  w('ecc.mode.current'),
  w('persistence_mode'),
  w('compute_mode'),
  w('utilization.gpu'),
  w('utilization.memory'),
  ...ENGINES.map((e) => w(`utilization.${e}`)),
  w('memory.used'),
  w('memory.total'),
  w('power.draw'),
  w('power.limit', 'enforced.power.limit', 'power.limit'),
  w('temperature.gpu'),
  w('temperature.memory'),
  w('ecc.errors.corrected.volatile.total'),
  w('ecc.errors.uncorrected.volatile.total'),
  ...CLOCK_DOMAINS.map((c) => w(`clocks.current.${c}`)),
  ...(['graphics', 'sm', 'memory'] as const).map((c) => w(`clocks.max.${c}`)),
  ...CLOCK_EVENT_REASONS.map((r) => w(`clock_event.${r}`, `clocks_event_reasons.${r}`, `clocks_throttle_reasons.${r}`)),
  ...CLOCK_EVENT_COUNTERS.map((r) => w(`clock_event_counter.${r}`, `clocks_event_reasons_counters.${r}`)),
  w('fan.speed'),
  w('pstate'),
  w('pcie.link.gen', 'pcie.link.gen.gpucurrent', 'pcie.link.gen.current'),
  w('pcie.link.width.current'),
  w('remapped_rows.correctable'),
  w('remapped_rows.uncorrectable'),
  w('remapped_rows.pending'),
  w('remapped_rows.failure'),
  w('retired_pages.single_bit_ecc.count', 'retired_pages.single_bit_ecc.count', 'retired_pages.sbe'),
  w('retired_pages.double_bit.count', 'retired_pages.double_bit.count', 'retired_pages.dbe'),
  w('retired_pages.pending'),
  w('gpu_recovery_action'),
];

/**
 * Field names from `nvidia-smi --help-query-gpu`: each entry starts on its own
 * line with a quoted name, optionally `or "alias"`.
 */
export function parseHelpQuery(help: string): Set<string> {
  const names = new Set<string>();
  for (const line of help.split(/\r?\n/)) {
    const m = /^"([^"]+)"((?:\s+or\s+"[^"]+")*)\s*$/.exec(line);
    if (!m) continue;
    names.add(m[1]!);
    for (const alias of m[2]!.matchAll(/"([^"]+)"/g)) names.add(alias[1]!);
  }
  return names;
}

/** The query plan: which driver field answers each wanted column. */
export interface QueryPlan {
  /** Field names passed to --query-gpu, in column order. */
  readonly fields: readonly string[];
  /** Wanted id of each column. */
  readonly ids: readonly string[];
  /** Wanted ids this driver does not offer. */
  readonly unsupported: readonly string[];
}

export function planQuery(supported: ReadonlySet<string>): QueryPlan {
  const fields: string[] = [];
  const ids: string[] = [];
  const unsupported: string[] = [];
  for (const want of WANTED) {
    const name = want.names.find((n) => supported.has(n));
    if (name === undefined) {
      unsupported.push(want.id);
      continue;
    }
    fields.push(name);
    ids.push(want.id);
  }
  for (const id of IDENTITY) {
    if (!ids.includes(id.id)) throw new ParseError(`nvidia-smi does not offer the identity field "${id.id}"`);
  }
  return { fields, ids, unsupported };
}

/**
 * `Unable to determine the device handle for GPU 0000:02:00.0: GPU is lost. ...`
 * (some drivers print no space between "GPU" and the bus id).
 */
const LOST_RE = /^Unable to determine the device handle for GPU\s*([0-9A-Fa-f]+:[0-9A-Fa-f]+:[0-9A-Fa-f]+\.[0-7]):\s*(.*)$/;

export interface GpuRowsResult {
  readonly devices: DeviceSample[];
  readonly lost: LostDevice[];
  /** Lines that were neither a row of the expected width nor a known error. */
  readonly badLines: string[];
}

/** Splits `--format=csv,noheader,nounits` output; a row of the wrong width is rejected whole. */
export function parseGpuRows(stdout: string, plan: QueryPlan): GpuRowsResult {
  const devices: DeviceSample[] = [];
  const lost: LostDevice[] = [];
  const badLines: string[] = [];
  for (const line of stdout.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const lostMatch = LOST_RE.exec(line.trim());
    if (lostMatch) {
      lost.push({ pciBusId: normalizePciBusId(lostMatch[1]!), message: lostMatch[2]!.trim() });
      continue;
    }
    const cols = line.split(',').map((c) => c.trim());
    if (cols.length !== plan.ids.length) {
      badLines.push(line);
      continue;
    }
    const row = new Map<string, string>();
    plan.ids.forEach((id, i) => row.set(id, cols[i]!));
    const device = rowToDevice(row);
    if (device) devices.push(device);
    else badLines.push(line);
  }
  return { devices, lost, badLines };
}

function rowToDevice(row: ReadonlyMap<string, string>): DeviceSample | undefined {
  const uuid = text(row.get('uuid'));
  if (!uuid || !/^GPU-[0-9a-fA-F-]+$/.test(uuid)) return undefined;
  const num = (id: string) => parseNumber(row.get(id));
  const scaled = (id: string, k: number) => {
    const v = num(id);
    return v === undefined ? undefined : v * k;
  };
  const pct = (id: string) => scaled(id, 0.01);
  const labelled = <K extends string>(pairs: readonly (readonly [K, number | undefined])[]) =>
    pairs.filter((p): p is readonly [K, number] => p[1] !== undefined).map(([key, value]) => ({ key, value }));

  const info: Partial<Record<InfoKey, string>> = {};
  const setInfo = (key: InfoKey, v: string | undefined) => {
    if (v !== undefined) info[key] = v;
  };
  setInfo('driver_version', text(row.get('driver_version')));
  setInfo('vbios_version', text(row.get('vbios_version')));
  setInfo('serial', text(row.get('serial')));
  setInfo('compute_capability', text(row.get('compute_cap')));
  setInfo('mig_mode', text(row.get('mig.mode.current'))?.toLowerCase());
  setInfo('ecc_mode', text(row.get('ecc.mode.current'))?.toLowerCase());
  setInfo('persistence_mode', text(row.get('persistence_mode'))?.toLowerCase());
  setInfo('compute_mode', text(row.get('compute_mode'))?.toLowerCase().replace(/ /g, '_'));

  const pstate = text(row.get('pstate'));
  const pstateNum = pstate && /^P\d{1,2}$/.test(pstate) ? Number(pstate.slice(1)) : undefined;
  const recovery = text(row.get('gpu_recovery_action'));

  const base = emptyDevice({
    vendor: 'nvidia',
    uuid,
    pciBusId: normalizePciBusId(row.get('pci.bus_id') ?? ''),
    index: text(row.get('index')) ?? '',
    model: text(row.get('name')) ?? '',
  });
  const sample: DeviceSample = {
    ...base,
    info,
    utilizationRatio: pct('utilization.gpu'),
    memoryControllerUtilizationRatio: pct('utilization.memory'),
    memoryUsedBytes: scaled('memory.used', MIB),
    memoryTotalBytes: scaled('memory.total', MIB),
    powerWatts: num('power.draw'),
    powerLimitWatts: num('power.limit'),
    temperaturesCelsius: labelled([
      ['gpu', num('temperature.gpu')],
      ['memory', num('temperature.memory')],
    ]),
    errors: labelled([
      ['ecc_corrected', num('ecc.errors.corrected.volatile.total')],
      ['ecc_uncorrected', num('ecc.errors.uncorrected.volatile.total')],
    ]),
    clocksHertz: labelled(CLOCK_DOMAINS.map((c) => [c, scaled(`clocks.current.${c}`, MHZ)] as const)),
    maxClocksHertz: labelled((['graphics', 'sm', 'memory'] as const).map((c) => [c, scaled(`clocks.max.${c}`, MHZ)] as const)),
    engineUtilizationRatio: labelled(ENGINES.map((e) => [e, pct(`utilization.${e}`)] as const)),
    clockEventsActive: labelled(CLOCK_EVENT_REASONS.map((r) => [r, parseFlag(row.get(`clock_event.${r}`))] as const)),
    clockEventSeconds: labelled(CLOCK_EVENT_COUNTERS.map((r) => [r, scaled(`clock_event_counter.${r}`, 1e-6)] as const)),
    fanSpeedRatio: pct('fan.speed'),
    performanceState: pstateNum,
    pcieLinkGeneration: num('pcie.link.gen'),
    pcieLinkWidth: num('pcie.link.width.current'),
    remappedRows: labelled([
      ['correctable', num('remapped_rows.correctable')],
      ['uncorrectable', num('remapped_rows.uncorrectable')],
    ]),
    remappedRowsPending: parseFlag(row.get('remapped_rows.pending')),
    remappedRowsFailure: parseFlag(row.get('remapped_rows.failure')),
    retiredPages: labelled([
      ['single_bit_ecc', num('retired_pages.single_bit_ecc.count')],
      ['double_bit_ecc', num('retired_pages.double_bit.count')],
    ]),
    retiredPagesPending: parseFlag(row.get('retired_pages.pending')),
    recoveryAction: recovery === undefined ? undefined : RECOVERY_ACTIONS[recovery.toLowerCase()],
  };
  return sample;
}

export const COMPUTE_APPS_FIELDS = ['gpu_uuid', 'pid', 'process_name', 'used_gpu_memory'] as const;

/**
 * `--query-compute-apps=gpu_uuid,pid,process_name,used_gpu_memory` rows.
 * Parsed outside in (uuid and pid from the left, memory from the right) so a
 * comma inside a process name survives.
 */
export function parseComputeApps(stdout: string): { processes: ProcessSample[]; badLines: string[] } {
  const processes: ProcessSample[] = [];
  const badLines: string[] = [];
  for (const line of stdout.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const cols = line.split(',');
    if (cols.length < 4) {
      badLines.push(line);
      continue;
    }
    const uuid = cols[0]!.trim();
    const pid = parseNumber(cols[1]);
    const mem = parseNumber(cols[cols.length - 1]);
    const name = cols.slice(2, -1).join(',').trim();
    if (!/^(GPU|MIG)-[0-9a-fA-F-]+$/.test(uuid) || pid === undefined || !Number.isInteger(pid)) {
      badLines.push(line);
      continue;
    }
    processes.push({
      deviceUuid: uuid,
      pid,
      name,
      memoryUsedBytes: mem === undefined ? undefined : mem * MIB,
    });
  }
  return { processes, badLines };
}
