// What we ask hl-smi (Intel Gaudi) for and how each CSV column becomes part of
// a DeviceSample. Pure, so it is tested directly against captured bytes.
// Field names are the documented `-Q/--query-aip` list (Habana
// System_Management_Interface_Tool docs); `power.max` is newer than the rest.

import { emptyDevice, normalizePciBusId, type DeviceSample, type ErrorType, type InfoKey, type TemperatureSensor } from '../../model.ts';
import { MIB, parseNumberWithUnit, parseText as text } from '../values.ts';

/** Fields every documented hl-smi version accepts. */
export const HL_SMI_BASE_FIELDS = [
  'uuid',
  'bus_id',
  'index',
  'name',
  'driver_version',
  'serial',
  'utilization.aip',
  'memory.used',
  'memory.total',
  'power.draw',
  'temperature.aip',
  'ecc.errors.corrected.aggregate.total',
  'ecc.errors.uncorrected.aggregate.total',
] as const;

/** Base plus fields only newer releases know (the 1.22 capture has power.max). */
export const HL_SMI_FIELDS = [...HL_SMI_BASE_FIELDS, 'power.max'] as const;

export interface HlSmiParse {
  readonly devices: DeviceSample[];
  readonly badLines: string[];
}

/** `-f csv,nounits` gives bare numbers, but older releases and plain `csv` append a unit. */
const num = (raw: string | undefined) => parseNumberWithUnit(raw, ['MiB', 'W', 'C', '%']);

/**
 * Rows of `hl-smi -Q <fields> -f csv,noheader,nounits`, columns in the order
 * of `fields`. Devices are keyed by bus id (uuid when the bus id is absent),
 * never by row position; a repeated key keeps the first row.
 */
export function parseHlSmiRows(stdout: string, fields: readonly string[]): HlSmiParse {
  const devices: DeviceSample[] = [];
  const badLines: string[] = [];
  const seen = new Set<string>();
  for (const line of stdout.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const cols = line.split(',').map((c) => c.trim());
    if (cols.length !== fields.length) {
      badLines.push(line);
      continue;
    }
    const v = (f: string) => cols[fields.indexOf(f)];
    const busId = text(v('bus_id')) !== undefined ? normalizePciBusId(v('bus_id')!) : '';
    const uuid = text(v('uuid')) ?? busId;
    const key = busId || uuid;
    if (!key) {
      badLines.push(line);
      continue;
    }
    if (seen.has(key)) continue;
    seen.add(key);

    const base = emptyDevice({ vendor: 'habana', uuid, pciBusId: busId, index: text(v('index')) ?? '', model: text(v('name')) ?? '' });
    const info: Partial<Record<InfoKey, string>> = {};
    const driver = text(v('driver_version'));
    if (driver) info.driver_version = driver;
    const serial = text(v('serial'));
    if (serial) info.serial = serial;

    const temperatures: { key: TemperatureSensor; value: number }[] = [];
    const aipTemp = num(v('temperature.aip'));
    if (aipTemp !== undefined) temperatures.push({ key: 'gpu', value: aipTemp });
    const errors: { key: ErrorType; value: number }[] = [];
    const corrected = num(v('ecc.errors.corrected.aggregate.total'));
    if (corrected !== undefined) errors.push({ key: 'ecc_corrected', value: corrected });
    const uncorrected = num(v('ecc.errors.uncorrected.aggregate.total'));
    if (uncorrected !== undefined) errors.push({ key: 'ecc_uncorrected', value: uncorrected });

    const util = num(v('utilization.aip'));
    const used = num(v('memory.used'));
    const total = num(v('memory.total'));
    devices.push({
      ...base,
      info,
      utilizationRatio: util === undefined ? undefined : util / 100,
      memoryUsedBytes: used === undefined ? undefined : used * MIB,
      memoryTotalBytes: total === undefined ? undefined : total * MIB,
      powerWatts: num(v('power.draw')),
      powerLimitWatts: num(v('power.max')),
      temperaturesCelsius: temperatures,
      errors,
    });
  }
  return { devices, badLines };
}
