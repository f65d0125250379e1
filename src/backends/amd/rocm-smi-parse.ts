// How `rocm-smi ... --json` (and `--csv`) output becomes DeviceSamples.
// Pure: no I/O, so every captured release is tested directly.
//
// rocm-smi prints one flat record per `cardN` (plus `system`), every value a
// string, units only in the key text: `(W)`, `(C)`, `(B)`, `(%)`, `(Mhz)`
// inside values. Keys were renamed and re-cased across releases (`GPU ID` ->
// `Device ID`, `Card series` -> `Card Series`), so keys are looked up without
// regard to case and in lists of known spellings. "N/A" (also
// "N/A (Secondary die)") means absent.

import { emptyDevice, normalizePciBusId, type ClockDomain, type DeviceSample, type InfoKey, type LabelledValue, type TemperatureSensor } from '../../model.ts';
import { DECIMAL_RE, ParseError } from '../values.ts';


/** One card's fields, keys lower-cased. */
export type CardRecord = ReadonlyMap<string, string>;

export interface RocmSmiDocument {
  /** By card index (the N of `cardN`), in the tool's order. */
  readonly cards: ReadonlyMap<number, CardRecord>;
  readonly system: CardRecord;
}

const CARD_RE = /^card(\d+)$/;

function lowerKeys(o: Record<string, unknown>): Map<string, string> {
  const m = new Map<string, string>();
  for (const [k, v] of Object.entries(o)) if (typeof v === 'string' || typeof v === 'number') m.set(k.trim().toLowerCase(), String(v));
  return m;
}

/**
 * Reads the tool's stdout. rocm-smi may print `WARNING: ...` lines (and a
 * blank line) before the document, so reading starts at the first line that
 * opens a JSON object or a CSV header.
 */
export function parseRocmSmiOutput(stdout: string): RocmSmiDocument {
  const json = stdout.search(/^\s*\{/m);
  const csv = stdout.search(/^device,/m);
  if (json >= 0 && (csv < 0 || json < csv)) return fromJson(stdout.slice(json));
  if (csv >= 0) return fromCsv(stdout.slice(csv));
  throw new ParseError('no JSON or CSV document in the output');
}

function fromJson(text: string): RocmSmiDocument {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ParseError(`invalid JSON: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new ParseError('expected a JSON object keyed by cardN');
  const cards = new Map<number, CardRecord>();
  let system: CardRecord = new Map();
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) continue;
    const m = CARD_RE.exec(k);
    if (m) cards.set(Number(m[1]), lowerKeys(v as Record<string, unknown>));
    else if (k === 'system') system = lowerKeys(v as Record<string, unknown>);
  }
  return { cards, system };
}

/** `--csv`: a `device,<key>,...` header and one `cardN,...` row per card (rocm-smi strips commas from values). */
function fromCsv(text: string): RocmSmiDocument {
  const [header, ...rows] = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const keys = header!.split(',').map((k) => k.trim().toLowerCase());
  const cards = new Map<number, CardRecord>();
  for (const row of rows) {
    const cells = row.split(',');
    const m = CARD_RE.exec(cells[0]!.trim());
    if (!m || cells.length !== keys.length) continue;
    cards.set(Number(m[1]), new Map(keys.slice(1).map((k, i) => [k, cells[i + 1]!.trim()])));
  }
  return { cards, system: new Map() };
}

function text(rec: CardRecord, ...keys: string[]): string | undefined {
  for (const k of keys) {
    const v = rec.get(k.toLowerCase())?.trim();
    if (v !== undefined && v !== '' && !/^N\/A\b/i.test(v) && v !== 'UNKNOWN') return v;
  }
  return undefined;
}

/** The first key whose value is a plain number. */
function num(rec: CardRecord, ...keys: string[]): number | undefined {
  for (const k of keys) {
    const v = text(rec, k);
    if (v !== undefined && DECIMAL_RE.test(v)) return Number(v);
  }
  return undefined;
}

/** `(500Mhz)` or `0 (500Mhz)` as hertz. */
function clockHz(rec: CardRecord, key: string): number | undefined {
  const m = /\((\d+(?:\.\d+)?)\s*([MG]?)hz\)/i.exec(text(rec, key) ?? '');
  if (!m) return undefined;
  return Number(m[1]) * (m[2]!.toUpperCase() === 'G' ? 1e9 : m[2] ? 1e6 : 1);
}

const PCIE_GEN_BY_GTS: Record<string, number> = { '2.5': 1, '5.0': 2, '8.0': 3, '16.0': 4, '32.0': 5, '64.0': 6 };

const TEMPERATURES: readonly [string, TemperatureSensor][] = [
  ['Temperature (Sensor edge) (C)', 'edge'],
  ['Temperature (Sensor junction) (C)', 'hotspot'],
  ['Temperature (Sensor memory) (C)', 'memory'],
];

const CLOCKS: readonly [string, ClockDomain][] = [
  ['sclk clock speed:', 'graphics'],
  ['mclk clock speed:', 'memory'],
];

// A hex id is a PCI id (device or, in ROCm 4.x, wrongly the vendor 0x1002), not a name.
const HEX_RE = /^0x[0-9a-f]+$/i;
// `Unique ID` and `Serial Number` are "N/A" or zero where the board has none.
const NULL_ID_RE = /^(0x)?0*$/i;

function model(rec: CardRecord): string {
  for (const k of ['Device Name', 'Card Series', 'Card Model']) {
    const v = text(rec, k);
    if (v !== undefined && !HEX_RE.test(v)) return v;
  }
  return text(rec, 'Device ID', 'GPU ID') ?? '';
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** One device per card. rocm-smi sees whole GPUs only: no partitions, no parent. */
export function rocmSmiDevices(doc: RocmSmiDocument): DeviceSample[] {
  const driver = text(doc.system, 'Driver version');
  const devices: DeviceSample[] = [];
  for (const [index, rec] of doc.cards) {
    const bus = normalizePciBusId(text(rec, 'PCI Bus') ?? '');
    const unique = text(rec, 'Unique ID');
    const serial = text(rec, 'Serial Number');
    const uuid = unique !== undefined && !NULL_ID_RE.test(unique) ? unique.toLowerCase() : bus !== '' ? bus : `amd-gpu-${index}`;
    const base = emptyDevice({ vendor: 'amd', uuid, pciBusId: bus, index: String(index), model: model(rec) });
    const info: Partial<Record<InfoKey, string>> = dropUndefined({
      driver_version: driver,
      vbios_version: text(rec, 'VBIOS version'),
      serial: serial !== undefined && !NULL_ID_RE.test(serial) ? serial : undefined,
    });

    const temps: LabelledValue<TemperatureSensor>[] = [];
    for (const [key, sensor] of TEMPERATURES) {
      const v = num(rec, key);
      if (v !== undefined) temps.push({ key: sensor, value: v });
    }
    const clocks: LabelledValue<ClockDomain>[] = [];
    for (const [key, domain] of CLOCKS) {
      const v = clockHz(rec, key);
      if (v !== undefined) clocks.push({ key: domain, value: v });
    }
    const pcie = /\((\d+(?:\.\d+)?)GT\/s x(\d+)\)/.exec(text(rec, 'pcie clock level') ?? '');
    const percent = (...keys: string[]) => {
      const v = num(rec, ...keys);
      return v === undefined ? undefined : v / 100;
    };
    const fields = dropUndefined({
      utilizationRatio: percent('GPU use (%)'),
      // The pre-6.1 `GPU memory use (%)` is the memory busy percentage
      // (rsmi_dev_memory_busy_percent_get), renamed `GPU Memory Read/Write
      // Activity (%)` in 6.1. `GPU Memory Allocated (VRAM%)` is allocation,
      // already exported in bytes, so it is not read.
      memoryControllerUtilizationRatio: percent('GPU Memory Read/Write Activity (%)', 'GPU memory use (%)'),
      memoryUsedBytes: num(rec, 'VRAM Total Used Memory (B)'),
      memoryTotalBytes: num(rec, 'VRAM Total Memory (B)'),
      powerWatts: num(rec, 'Average Graphics Package Power (W)', 'Current Socket Graphics Package Power (W)'),
      powerLimitWatts: num(rec, 'Max Graphics Package Power (W)'),
      fanSpeedRatio: percent('Fan speed (%)'),
      pcieLinkGeneration: pcie ? PCIE_GEN_BY_GTS[Number(pcie[1]).toFixed(1)] : undefined,
      pcieLinkWidth: pcie ? Number(pcie[2]) : undefined,
    });
    devices.push({ ...base, info, temperaturesCelsius: temps, clocksHertz: clocks, ...fields });
  }
  return devices;
}
