// What one NVML sample reads from a device, and how each answer becomes part
// of a DeviceSample. Values are converted exactly as the nvidia-smi backend
// converts nvidia-smi's text, so that the same device state gives the same
// numbers through either backend. A field NVML does not support, or any
// other per-field error, is an absent series; NVML_ERROR_GPU_IS_LOST or
// RESET_REQUIRED on any call makes the whole device unreachable.

import {
  emptyDevice,
  normalizePciBusId,
  type ClockDomain,
  type DeviceIdentity,
  type DeviceSample,
  type Engine,
  type InfoKey,
  type IoCounter,
  type LabelledValue,
} from '../../model.ts';
import { CLOCK, FI, NVML, errorText, type DeviceHandle, type FieldResult, type NvmlApi, type Result } from './nvml-api.ts';

const MHZ = 1e6;

/** The device stopped answering (fell off the bus, needs a reset). */
export class DeviceLostError extends Error {
  override name = 'DeviceLostError';
  readonly ret: number;
  constructor(ret: number) {
    super(errorText(ret));
    this.ret = ret;
  }
}

const LOST = new Set<number>([NVML.ERROR_GPU_IS_LOST, NVML.ERROR_RESET_REQUIRED]);

/** The value of a call, undefined on any error; throws DeviceLostError when the device is gone. */
export function ok<T>(r: Result<T>): T | undefined {
  if (LOST.has(r.ret)) throw new DeviceLostError(r.ret);
  return r.ret === NVML.SUCCESS ? r.value : undefined;
}

/** Same arithmetic as the nvidia-smi backend's percent columns. */
const pct = (v: number | undefined) => (v === undefined ? undefined : v * 0.01);

function labelled<K extends string>(pairs: readonly (readonly [K, number | undefined])[]): LabelledValue<K>[] {
  return pairs.filter((p): p is readonly [K, number] => p[1] !== undefined).map(([key, value]) => ({ key, value }));
}

const CLOCK_DOMAINS: readonly (readonly [ClockDomain, number])[] = [
  ['graphics', CLOCK.GRAPHICS],
  ['sm', CLOCK.SM],
  ['memory', CLOCK.MEM],
  ['video', CLOCK.VIDEO],
];
const MAX_CLOCK_DOMAINS = CLOCK_DOMAINS.filter(([c]) => c !== 'video');
const ENGINES: readonly Extract<Engine, 'encoder' | 'decoder' | 'jpeg' | 'ofa'>[] = ['encoder', 'decoder', 'jpeg', 'ofa'];

/** nvmlClocksEventReason* bits, in the nvidia-smi backend's reason order. */
export const CLOCK_EVENT_BITS: readonly (readonly [string, bigint])[] = [
  ['gpu_idle', 0x1n],
  ['applications_clocks_setting', 0x2n],
  ['sw_power_cap', 0x4n],
  ['hw_slowdown', 0x8n],
  ['hw_thermal_slowdown', 0x40n],
  ['hw_power_brake_slowdown', 0x80n],
  ['sw_thermal_slowdown', 0x20n],
  ['sync_boost', 0x10n],
];

/** Time spent in each clock event reason (nanoseconds), the fields nvidia-smi's clocks_event_reasons_counters read. */
const CLOCK_EVENT_COUNTER_FIELDS: readonly (readonly [string, number])[] = [
  ['sw_power_cap', FI.PERF_POLICY_POWER],
  ['sync_boost', FI.PERF_POLICY_SYNC_BOOST],
  ['sw_thermal_slowdown', FI.CLOCKS_EVENT_REASON_SW_THERM_SLOWDOWN],
  ['hw_thermal_slowdown', FI.CLOCKS_EVENT_REASON_HW_THERM_SLOWDOWN],
  ['hw_power_brake_slowdown', FI.CLOCKS_EVENT_REASON_HW_POWER_BRAKE_SLOWDOWN],
];

const NVLINK_ERROR_FIELDS: readonly (readonly [string, number])[] = [
  ['crc_flit', FI.NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL],
  ['crc_data', FI.NVLINK_CRC_DATA_ERROR_COUNT_TOTAL],
  ['replay', FI.NVLINK_REPLAY_ERROR_COUNT_TOTAL],
  ['recovery', FI.NVLINK_RECOVERY_ERROR_COUNT_TOTAL],
  ['ecc_data', FI.NVLINK_ECC_DATA_ERROR_COUNT_TOTAL],
];

/** Every single-valued field asked for in one nvmlDeviceGetFieldValues call per device. */
const DEVICE_FIELDS = [
  FI.MEMORY_TEMP,
  FI.GET_GPU_RECOVERY_ACTION,
  FI.PCIE_REPLAY_COUNTER,
  FI.PCIE_COUNT_TX_BYTES,
  FI.PCIE_COUNT_RX_BYTES,
  FI.NVLINK_LINK_COUNT,
  ...CLOCK_EVENT_COUNTER_FIELDS.map(([, id]) => id),
  ...NVLINK_ERROR_FIELDS.map(([, id]) => id),
];

const COMPUTE_MODES: Readonly<Record<number, string>> = { 0: 'default', 1: 'exclusive_thread', 2: 'prohibited', 3: 'exclusive_process' };
const enabled = (v: number | undefined) => (v === undefined ? undefined : v === 1 ? 'enabled' : 'disabled');

function fieldMap(fields: readonly FieldResult[] | undefined): Map<number, number> {
  const m = new Map<number, number>();
  for (const f of fields ?? []) {
    if (LOST.has(f.ret)) throw new DeviceLostError(f.ret);
    if (f.ret === NVML.SUCCESS && f.value !== undefined && Number.isFinite(f.value)) m.set(f.fieldId, f.value);
  }
  return m;
}

/** The identity of a physical GPU: the calls that must succeed for its series to exist. */
export async function readIdentity(api: NvmlApi, h: DeviceHandle, fallbackIndex: number): Promise<DeviceIdentity | undefined> {
  const uuid = ok(await api.deviceGetUUID(h));
  if (!uuid) return undefined;
  const pci = ok(await api.deviceGetPciInfo(h));
  const index = ok(await api.deviceGetIndex(h)) ?? fallbackIndex;
  const name = ok(await api.deviceGetName(h)) ?? '';
  return { vendor: 'nvidia', uuid, pciBusId: normalizePciBusId(pci?.busId ?? ''), index: String(index), model: name };
}

export interface PhysicalReading {
  readonly sample: DeviceSample;
  readonly migEnabled: boolean;
}

/** Everything the nvidia-smi backend reads for a GPU, and the NVML-only counters. */
export async function readPhysical(api: NvmlApi, h: DeviceHandle, id: DeviceIdentity, driverVersion: string | undefined): Promise<PhysicalReading> {
  const info: Partial<Record<InfoKey, string>> = {};
  const setInfo = (key: InfoKey, v: string | undefined) => {
    if (v !== undefined && v !== '') info[key] = v;
  };
  setInfo('driver_version', driverVersion);
  setInfo('vbios_version', ok(await api.deviceGetVbiosVersion(h)));
  setInfo('serial', ok(await api.deviceGetSerial(h)));
  const cc = ok(await api.deviceGetCudaComputeCapability(h));
  setInfo('compute_capability', cc ? `${cc.major}.${cc.minor}` : undefined);
  const mig = ok(await api.deviceGetMigMode(h));
  setInfo('mig_mode', enabled(mig?.current));
  setInfo('ecc_mode', enabled(ok(await api.deviceGetEccMode(h))?.current));
  setInfo('persistence_mode', enabled(ok(await api.deviceGetPersistenceMode(h))));
  const cm = ok(await api.deviceGetComputeMode(h));
  setInfo('compute_mode', cm === undefined ? undefined : COMPUTE_MODES[cm]);

  const util = ok(await api.deviceGetUtilizationRates(h));
  const engines: [Engine, number | undefined][] = [];
  for (const e of ENGINES) engines.push([e, pct(ok(await api.deviceGetEngineUtilization(h, e)))]);
  const mem = ok(await api.deviceGetMemoryInfo(h));
  const power = ok(await api.deviceGetPowerUsage(h));
  const limit = ok(await api.deviceGetEnforcedPowerLimit(h));
  const energy = ok(await api.deviceGetTotalEnergyConsumption(h));
  const tempGpu = ok(await api.deviceGetTemperatureGpu(h));
  const eccCorrected = ok(await api.deviceGetTotalEccErrors(h, 0, 0));
  const eccUncorrected = ok(await api.deviceGetTotalEccErrors(h, 1, 0));
  const clocks: [ClockDomain, number | undefined][] = [];
  for (const [c, t] of CLOCK_DOMAINS) clocks.push([c, scale(ok(await api.deviceGetClockInfo(h, t)), MHZ)]);
  const maxClocks: [ClockDomain, number | undefined][] = [];
  for (const [c, t] of MAX_CLOCK_DOMAINS) maxClocks.push([c, scale(ok(await api.deviceGetMaxClockInfo(h, t)), MHZ)]);
  const reasons = ok(await api.deviceGetCurrentClocksEventReasons(h));
  const fan = ok(await api.deviceGetFanSpeed(h));
  const pstate = ok(await api.deviceGetPerformanceState(h));
  const linkGen = ok(await api.deviceGetCurrPcieLinkGeneration(h));
  const linkWidth = ok(await api.deviceGetCurrPcieLinkWidth(h));
  const remapped = ok(await api.deviceGetRemappedRows(h));
  const retiredSbe = ok(await api.deviceGetRetiredPagesCount(h, 0));
  const retiredDbe = ok(await api.deviceGetRetiredPagesCount(h, 1));
  const retiredPending = ok(await api.deviceGetRetiredPagesPendingStatus(h));
  const fields = fieldMap(ok(await api.deviceGetFieldValues(h, DEVICE_FIELDS.map((fieldId) => ({ fieldId })))));

  const io: IoCounter[] = [];
  const pcieTx = fields.get(FI.PCIE_COUNT_TX_BYTES);
  const pcieRx = fields.get(FI.PCIE_COUNT_RX_BYTES);
  if (pcieRx !== undefined) io.push({ link: 'pcie', direction: 'receive', bytes: pcieRx });
  if (pcieTx !== undefined) io.push({ link: 'pcie', direction: 'transmit', bytes: pcieTx });
  const nvlink = await readNvLinks(api, h, fields.get(FI.NVLINK_LINK_COUNT));
  io.push(...nvlink.io);

  const recovery = fields.get(FI.GET_GPU_RECOVERY_ACTION);
  const sample: DeviceSample = {
    ...emptyDevice(id),
    info,
    utilizationRatio: pct(util?.gpu),
    memoryControllerUtilizationRatio: pct(util?.memory),
    memoryUsedBytes: mem?.used,
    memoryTotalBytes: mem?.total,
    powerWatts: power === undefined ? undefined : power / 1000,
    powerLimitWatts: limit === undefined ? undefined : limit / 1000,
    energyJoules: energy === undefined ? undefined : energy / 1000,
    temperaturesCelsius: labelled([
      ['gpu', tempGpu],
      ['memory', fields.get(FI.MEMORY_TEMP)],
    ]),
    errors: labelled([
      ['ecc_corrected', eccCorrected],
      ['ecc_uncorrected', eccUncorrected],
    ]),
    clocksHertz: labelled(clocks),
    maxClocksHertz: labelled(maxClocks),
    engineUtilizationRatio: labelled(engines),
    clockEventsActive: reasons === undefined ? [] : CLOCK_EVENT_BITS.map(([key, bit]) => ({ key, value: (reasons & bit) !== 0n ? 1 : 0 })),
    // Whole microseconds, then the nvidia-smi backend's arithmetic, so both give the same float.
    clockEventSeconds: labelled(CLOCK_EVENT_COUNTER_FIELDS.map(([key, fid]) => {
      const ns = fields.get(fid);
      return [key, ns === undefined ? undefined : Math.round(ns / 1000) * 1e-6] as const;
    })),
    fanSpeedRatio: pct(fan),
    // 32 is NVML_PSTATE_UNKNOWN.
    performanceState: pstate !== undefined && pstate <= 15 ? pstate : undefined,
    pcieLinkGeneration: linkGen,
    pcieLinkWidth: linkWidth,
    remappedRows: labelled([
      ['correctable', remapped?.corrRows],
      ['uncorrectable', remapped?.uncRows],
    ]),
    remappedRowsPending: remapped === undefined ? undefined : remapped.isPending ? 1 : 0,
    remappedRowsFailure: remapped === undefined ? undefined : remapped.failureOccurred ? 1 : 0,
    retiredPages: labelled([
      ['single_bit_ecc', retiredSbe],
      ['double_bit_ecc', retiredDbe],
    ]),
    retiredPagesPending: retiredPending === undefined ? undefined : retiredPending ? 1 : 0,
    // nvidia-smi names five actions; a newer one is not guessed at.
    recoveryAction: recovery !== undefined && recovery >= 0 && recovery <= 4 ? recovery : undefined,
    ...(io.length ? { ioBytes: io } : {}),
    ...(fields.has(FI.PCIE_REPLAY_COUNTER) ? { pcieReplays: fields.get(FI.PCIE_REPLAY_COUNTER) } : {}),
    ...(nvlink.up.length ? { nvlinkUp: nvlink.up } : {}),
    ...(nvlink.links > 0 ? { nvlinkErrors: labelled(NVLINK_ERROR_FIELDS.map(([key, fid]) => [key, fields.get(fid)] as const)) } : {}),
  };
  return { sample, migEnabled: mig?.current === 1 };
}

function scale(v: number | undefined, k: number): number | undefined {
  return v === undefined ? undefined : v * k;
}

/** Link states, and the data bytes each direction moved summed over the links (NVML counts KiB). */
async function readNvLinks(api: NvmlApi, h: DeviceHandle, linkCount: number | undefined): Promise<{ up: LabelledValue<string>[]; io: IoCounter[]; links: number }> {
  const links = linkCount ?? 0;
  if (links <= 0) return { up: [], io: [], links: 0 };
  const up: LabelledValue<string>[] = [];
  const active: number[] = [];
  for (let link = 0; link < Math.min(links, 36); link++) {
    const s = ok(await api.deviceGetNvLinkState(h, link));
    if (s === undefined) continue;
    up.push({ key: String(link), value: s === 1 ? 1 : 0 });
    if (s === 1) active.push(link);
  }
  if (active.length === 0) return { up, io: [], links };
  const requests = active.flatMap((scopeId) => [
    { fieldId: FI.NVLINK_THROUGHPUT_DATA_RX, scopeId },
    { fieldId: FI.NVLINK_THROUGHPUT_DATA_TX, scopeId },
  ]);
  const r = ok(await api.deviceGetFieldValues(h, requests));
  let rx: number | undefined;
  let tx: number | undefined;
  for (const f of r ?? []) {
    if (f.ret !== NVML.SUCCESS || f.value === undefined) continue;
    if (f.fieldId === FI.NVLINK_THROUGHPUT_DATA_RX) rx = (rx ?? 0) + f.value * 1024;
    else tx = (tx ?? 0) + f.value * 1024;
  }
  const io: IoCounter[] = [];
  if (rx !== undefined) io.push({ link: 'nvlink', direction: 'receive', bytes: rx });
  if (tx !== undefined) io.push({ link: 'nvlink', direction: 'transmit', bytes: tx });
  return { up, io, links };
}

export interface MigDevice {
  readonly handle: DeviceHandle;
  readonly sample: DeviceSample;
  readonly gpuInstanceId: number;
  readonly computeInstanceId: number;
}

/** The MIG devices of a GPU in MIG mode, as partitions of it. */
export async function readMigDevices(api: NvmlApi, h: DeviceHandle, parent: DeviceIdentity): Promise<MigDevice[]> {
  const max = ok(await api.deviceGetMaxMigDeviceCount(h)) ?? 0;
  const out: MigDevice[] = [];
  for (let i = 0; i < max; i++) {
    const r = await api.deviceGetMigDeviceHandleByIndex(h, i);
    // NOT_FOUND: no MIG device in this slot.
    const mh = ok(r);
    if (mh === undefined) continue;
    const uuid = ok(await api.deviceGetUUID(mh));
    if (!uuid) continue;
    const gi = ok(await api.deviceGetGpuInstanceId(mh)) ?? 0;
    const ci = ok(await api.deviceGetComputeInstanceId(mh)) ?? 0;
    const name = ok(await api.deviceGetName(mh)) ?? parent.model;
    const mem = ok(await api.deviceGetMemoryInfo(mh));
    const id: DeviceIdentity = { vendor: 'nvidia', uuid, pciBusId: parent.pciBusId, index: `${parent.index}/${gi}/${ci}`, model: name, parentUuid: parent.uuid };
    out.push({
      handle: mh,
      gpuInstanceId: gi,
      computeInstanceId: ci,
      sample: { ...emptyDevice(id), memoryUsedBytes: mem?.used, memoryTotalBytes: mem?.total },
    });
  }
  return out;
}
