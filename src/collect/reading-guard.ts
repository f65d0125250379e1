// Every backend's reading passes through here on its way to the snapshot, so
// that what no backend should produce is stopped in one place rather than in
// each parser: values outside their domain (not finite, negative where nothing
// can be negative, ratios above 1 beyond rounding) are dropped and counted;
// a second device under a uuid already seen is dropped and counted; a reading
// with more devices than any node carries fails the sample. It also remembers
// the devices of the last reading, so that one the tool stops listing (a GPU
// gone from the bus, output cut short) is reported, not silently dropped.

import type { Logger } from 'pino';
import { BackendError } from '../backends/backend.ts';
import { MAX_DEVICES_PER_BACKEND } from '../bounds.ts';
import type { BackendReading, DeviceIdentity, DeviceSample, LabelledValue, ProcessSample } from '../model.ts';

export const VALUE_DROP_REASONS = ['non_finite', 'negative', 'above_one'] as const;
export type ValueDropReason = (typeof VALUE_DROP_REASONS)[number];

/** `ratio`: 0..1 (plus rounding); `nonnegative`: 0 and up; `finite`: any real number. */
type Domain = 'ratio' | 'nonnegative' | 'finite';

/** Ratios computed from percentages may land a hair above 1; past this they are wrong. */
const RATIO_ROUNDING = 0.01;

type NumericField = {
  [K in keyof DeviceSample]-?: NonNullable<DeviceSample[K]> extends number | readonly LabelledValue<string>[] ? K : never;
}[keyof DeviceSample];

/** Each numeric field of a DeviceSample and its domain; a field added to the model without one does not compile. */
const DOMAINS: Readonly<Record<NumericField, Domain>> = {
  utilizationRatio: 'ratio',
  memoryUsedBytes: 'nonnegative',
  memoryTotalBytes: 'nonnegative',
  memoryControllerUtilizationRatio: 'ratio',
  powerWatts: 'nonnegative',
  powerLimitWatts: 'nonnegative',
  energyJoules: 'nonnegative',
  // A sensor may read below 0 °C on a cold-started card outdoors: only non-finite is wrong.
  temperaturesCelsius: 'finite',
  errors: 'nonnegative',
  clocksHertz: 'nonnegative',
  maxClocksHertz: 'nonnegative',
  engineUtilizationRatio: 'ratio',
  clockEventsActive: 'ratio',
  clockEventSeconds: 'nonnegative',
  // NVIDIA documents fan speed above 100% ("may exceed 100% in certain cases").
  fanSpeedRatio: 'nonnegative',
  performanceState: 'nonnegative',
  pcieLinkGeneration: 'nonnegative',
  pcieLinkWidth: 'nonnegative',
  remappedRows: 'nonnegative',
  remappedRowsPending: 'nonnegative',
  remappedRowsFailure: 'nonnegative',
  retiredPages: 'nonnegative',
  retiredPagesPending: 'nonnegative',
  recoveryAction: 'nonnegative',
  pcieBandwidthBytesPerSecond: 'nonnegative',
  coreUtilizationRatio: 'ratio',
  pcieReplays: 'nonnegative',
  // 1 up, 0 down: a state read as a ratio so that anything else is refused.
  nvlinkUp: 'ratio',
  nvlinkErrors: 'nonnegative',
};

function violation(value: number, domain: Domain): ValueDropReason | undefined {
  if (!Number.isFinite(value)) return 'non_finite';
  if (domain === 'finite') return undefined;
  if (value < 0) return 'negative';
  if (domain === 'ratio' && value > 1 + RATIO_ROUNDING) return 'above_one';
  return undefined;
}

export interface GuardCounters {
  readonly valuesDropped: Readonly<Record<ValueDropReason, number>>;
  /** Devices dropped because an earlier device of the same reading had their uuid. */
  readonly duplicateDevices: number;
  /** Devices listed by one reading and absent from the next. */
  readonly vanishedDevices: number;
}

interface Seen {
  readonly id: DeviceIdentity;
  readonly atMs: number;
}

/** One per backend; holds the counters and the devices last seen. */
export class ReadingGuard {
  private readonly log: Logger;
  private readonly dropped: Record<ValueDropReason, number> = { non_finite: 0, negative: 0, above_one: 0 };
  private duplicates = 0;
  private vanished = 0;
  /** Fields already warned about, so a tool stuck on a bad value logs once, not every sample. */
  private readonly warned = new Set<string>();
  /** Devices of the last accepted reading, and those that left it, with when they were last seen. */
  private present = new Map<string, Seen>();
  private readonly gone = new Map<string, Seen>();

  constructor(log: Logger) {
    this.log = log;
  }

  counters(): GuardCounters {
    return { valuesDropped: { ...this.dropped }, duplicateDevices: this.duplicates, vanishedDevices: this.vanished };
  }

  /** The reading with out-of-domain values and duplicate devices removed; throws `too_large` past the device bound. */
  accept(reading: BackendReading, nowMs: number): BackendReading {
    if (reading.devices.length + reading.lost.length > MAX_DEVICES_PER_BACKEND) {
      throw new BackendError('too_large', `the tool reported ${reading.devices.length + reading.lost.length} devices, more than the bound of ${MAX_DEVICES_PER_BACKEND}`);
    }
    const devices: DeviceSample[] = [];
    const uuids = new Set<string>();
    for (const d of reading.devices) {
      if (uuids.has(d.id.uuid)) {
        this.duplicates++;
        this.warnOnce(`duplicate ${d.id.uuid}`, { uuid: d.id.uuid, pciBusId: d.id.pciBusId, index: d.id.index }, 'device reported twice under one uuid; the later one is dropped');
        continue;
      }
      uuids.add(d.id.uuid);
      devices.push(this.clean(d));
    }
    const processes = reading.processes?.flatMap((p) => this.cleanProcess(p));
    this.track(devices, reading, nowMs);
    return { devices, lost: reading.lost, processes };
  }

  /**
   * Devices the tool stopped listing, last seen within `graceMs`: their identity
   * stays on accelerator_device_up 0 for that long, then they are forgotten.
   */
  missing(nowMs: number, graceMs: number): readonly { id: DeviceIdentity; sinceMs: number }[] {
    const out = [];
    for (const [uuid, seen] of this.gone) {
      if (nowMs - seen.atMs > graceMs) this.gone.delete(uuid);
      else out.push({ id: seen.id, sinceMs: seen.atMs });
    }
    return out;
  }

  private track(devices: readonly DeviceSample[], reading: BackendReading, nowMs: number): void {
    const next = new Map<string, Seen>();
    for (const d of devices) {
      next.set(d.id.uuid, { id: d.id, atMs: nowMs });
      if (this.gone.delete(d.id.uuid)) this.log.info({ uuid: d.id.uuid, pciBusId: d.id.pciBusId }, 'device listed again');
    }
    const lostBus = new Set(reading.lost.map((l) => l.pciBusId));
    for (const [uuid, seen] of this.present) {
      if (next.has(uuid)) continue;
      // A device the tool names as lost is reported as such already.
      if (seen.id.pciBusId !== '' && lostBus.has(seen.id.pciBusId)) continue;
      this.vanished++;
      this.gone.set(uuid, seen);
      this.log.warn(
        { uuid, pciBusId: seen.id.pciBusId, index: seen.id.index, devices: devices.length, before: this.present.size },
        'device no longer listed by the tool; reported as down for the grace period',
      );
    }
    this.present = next;
  }

  private clean(d: DeviceSample): DeviceSample {
    let out: Record<string, unknown> | undefined;
    for (const field of Object.keys(DOMAINS) as NumericField[]) {
      const v = d[field];
      if (v === undefined) continue;
      const domain = DOMAINS[field];
      if (typeof v === 'number') {
        const why = violation(v, domain);
        if (!why) continue;
        this.drop(d.id, field, why, v);
        out ??= { ...d };
        delete out[field];
      } else {
        const list = v as readonly LabelledValue<string>[];
        const kept = list.filter((lv) => {
          const why = violation(lv.value, domain);
          if (why) this.drop(d.id, `${field}.${lv.key}`, why, lv.value);
          return !why;
        });
        if (kept.length === list.length) continue;
        out ??= { ...d };
        out[field] = kept;
      }
    }
    return (out as DeviceSample | undefined) ?? d;
  }

  private cleanProcess(p: ProcessSample): ProcessSample[] {
    if (!Number.isSafeInteger(p.pid) || p.pid <= 0) {
      this.dropped[Number.isFinite(p.pid) ? 'negative' : 'non_finite']++;
      this.warnOnce(`pid ${p.deviceUuid}`, { uuid: p.deviceUuid, pid: p.pid }, 'process with an impossible pid dropped');
      return [];
    }
    if (p.memoryUsedBytes === undefined) return [p];
    const why = violation(p.memoryUsedBytes, 'nonnegative');
    if (!why) return [p];
    this.dropped[why]++;
    this.warnOnce(`process memory ${p.deviceUuid}`, { uuid: p.deviceUuid, pid: p.pid, value: String(p.memoryUsedBytes), reason: why }, 'value outside its domain dropped');
    const { memoryUsedBytes: _dropped, ...rest } = p;
    return [rest];
  }

  private drop(id: DeviceIdentity, field: string, why: ValueDropReason, value: number): void {
    this.dropped[why]++;
    this.warnOnce(`${id.uuid} ${field} ${why}`, { uuid: id.uuid, field, value: String(value), reason: why }, 'value outside its domain dropped');
  }

  private warnOnce(key: string, fields: Record<string, unknown>, msg: string): void {
    if (this.warned.has(key)) return;
    // Bounded: a tool inventing a new field or uuid every sample must not grow this set forever.
    if (this.warned.size >= 1024) return;
    this.warned.add(key);
    this.log.warn(fields, msg);
  }
}
