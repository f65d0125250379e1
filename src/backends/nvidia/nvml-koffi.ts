// NvmlApi over libnvidia-ml through koffi. Every call is koffi's `.async`
// form: it runs on one of koffi's worker threads, so a call that blocks in
// the driver holds that thread, never the event loop (the backend makes sure
// at most one call is outstanding, so a hang holds one thread at most).
// Struct layouts and symbol versions follow nvml.h (API 13); a symbol the
// installed library lacks answers NVML_ERROR_FUNCTION_NOT_FOUND, as NVML's
// own loader shims do.

import type { LibraryHandle, TypeObject } from 'koffi';
import {
  NVML,
  type DeviceHandle,
  type EventData,
  type FieldRequest,
  type FieldResult,
  type GpmMetricResult,
  type MemoryInfo,
  type NvmlApi,
  type ProcessInfo,
  type ProcessUtilizationSample,
  type Result,
} from './nvml-api.ts';

type Koffi = typeof import('koffi');

/** NVML_STRUCT_VERSION(data, ver): sizeof(struct) | ver << 24. */
const structVersion = (size: number, ver: number) => (size | (ver << 24)) >>> 0;

const NVML_VALUE_NOT_AVAILABLE = 0xffff_ffff_ffff_ffffn;
const GPM_METRIC_MAX = 333;
const STRING_BUFFER = 96;

/** Types, declared once per process (koffi's type names are global). */
interface Types {
  pciInfo: TypeObject;
  memory: TypeObject;
  memoryV2: TypeObject;
  utilization: TypeObject;
  temperature: TypeObject;
  processInfo: TypeObject;
  processUtil: TypeObject;
  fieldValue: TypeObject;
  eventData: TypeObject;
  gpmSupport: TypeObject;
  gpmMetricsGet: TypeObject;
}

let types: Types | undefined;

function declareTypes(k: Koffi): Types {
  if (types) return types;
  const pciInfo = k.struct('nvmlPciInfo_t', {
    busIdLegacy: k.array('char', 16, 'String'),
    domain: 'uint',
    bus: 'uint',
    device: 'uint',
    pciDeviceId: 'uint',
    pciSubSystemId: 'uint',
    busId: k.array('char', 32, 'String'),
  });
  const memory = k.struct('nvmlMemory_t', { total: 'unsigned long long', free: 'unsigned long long', used: 'unsigned long long' });
  const memoryV2 = k.struct('nvmlMemory_v2_t', {
    version: 'uint',
    total: 'unsigned long long',
    reserved: 'unsigned long long',
    free: 'unsigned long long',
    used: 'unsigned long long',
  });
  const utilization = k.struct('nvmlUtilization_t', { gpu: 'uint', memory: 'uint' });
  const temperature = k.struct('nvmlTemperature_v1_t', { version: 'uint', sensorType: 'int', temperature: 'int' });
  const processInfo = k.struct('nvmlProcessInfo_t', {
    pid: 'uint',
    usedGpuMemory: 'unsigned long long',
    gpuInstanceId: 'uint',
    computeInstanceId: 'uint',
  });
  const processUtil = k.struct('nvmlProcessUtilizationSample_t', {
    pid: 'uint',
    timeStamp: 'unsigned long long',
    smUtil: 'uint',
    memUtil: 'uint',
    encUtil: 'uint',
    decUtil: 'uint',
  });
  // The value union is read per valueType from raw bytes (koffi cannot tell which member is live).
  const fieldValue = k.struct('nvmlFieldValue_t', {
    fieldId: 'uint',
    scopeId: 'uint',
    timestamp: 'long long',
    latencyUsec: 'long long',
    valueType: 'int',
    nvmlReturn: 'int',
    value: k.array('uint8_t', 8, 'Array'),
  });
  const eventData = k.struct('nvmlEventData_t', {
    device: 'void *',
    eventType: 'unsigned long long',
    eventData: 'unsigned long long',
    gpuInstanceId: 'uint',
    computeInstanceId: 'uint',
  });
  const gpmSupport = k.struct('nvmlGpmSupport_t', { version: 'uint', isSupportedDevice: 'uint' });
  const gpmMetric = k.struct('nvmlGpmMetric_t', {
    metricId: 'uint',
    nvmlReturn: 'int',
    value: 'double',
    shortName: 'void *',
    longName: 'void *',
    unit: 'void *',
  });
  const gpmMetricsGet = k.struct('nvmlGpmMetricsGet_t', {
    version: 'uint',
    numMetrics: 'uint',
    sample1: 'void *',
    sample2: 'void *',
    metrics: k.array(gpmMetric, GPM_METRIC_MAX, 'Array'),
  });
  types = { pciInfo, memory, memoryV2, utilization, temperature, processInfo, processUtil, fieldValue, eventData, gpmSupport, gpmMetricsGet };
  return types;
}

/** A function of the library, or undefined when the library lacks the symbol. */
type Fn = ReturnType<LibraryHandle['func']> | undefined;

function call(fn: Fn, ...args: unknown[]): Promise<number> {
  if (!fn) return Promise.resolve(NVML.ERROR_FUNCTION_NOT_FOUND);
  return new Promise((resolve, reject) => {
    fn.async(...args, (err: unknown, ret: number) => (err ? reject(err) : resolve(ret)));
  });
}

function cString(buf: Buffer): string {
  const nul = buf.indexOf(0);
  return buf.toString('utf8', 0, nul < 0 ? buf.length : nul).trim();
}

const num = (v: unknown) => (typeof v === 'bigint' ? Number(v) : (v as number));

function fieldNumber(valueType: number, bytes: readonly number[]): number | undefined {
  const b = Buffer.from(bytes);
  switch (valueType) {
    case 0:
      return b.readDoubleLE(0);
    case 1:
      return b.readUInt32LE(0);
    case 2: // unsigned long: 64-bit on the LP64 targets koffi ships for Linux
    case 3:
      return Number(b.readBigUInt64LE(0));
    case 4:
      return Number(b.readBigInt64LE(0));
    case 5:
      return b.readInt32LE(0);
    case 6:
      return b.readUInt16LE(0);
    default:
      return undefined;
  }
}

/**
 * Loads the library. Throws when the dynamic loader cannot find or load it:
 * the caller treats that as "no NVIDIA driver here".
 */
export async function loadNvml(path: string): Promise<NvmlApi> {
  const k = ((await import('koffi')) as unknown as { default: Koffi }).default;
  const lib: LibraryHandle = k.load(path);
  const t = declareTypes(k);
  const u32 = k.out(k.pointer('uint'));
  const i32 = k.out(k.pointer('int'));
  const u64 = k.out(k.pointer('unsigned long long'));
  const handleOut = k.out(k.pointer('void *'));
  const dev = 'void *';
  const fn = (name: string, args: unknown[]): Fn => {
    try {
      return lib.func(name, 'int', args as never);
    } catch {
      return undefined;
    }
  };
  const f = {
    init: fn('nvmlInit_v2', []),
    shutdown: fn('nvmlShutdown', []),
    driverVersion: fn('nvmlSystemGetDriverVersion', ['char *', 'uint']),
    count: fn('nvmlDeviceGetCount_v2', [u32]),
    byIndex: fn('nvmlDeviceGetHandleByIndex_v2', ['uint', handleOut]),
    uuid: fn('nvmlDeviceGetUUID', [dev, 'char *', 'uint']),
    name: fn('nvmlDeviceGetName', [dev, 'char *', 'uint']),
    serial: fn('nvmlDeviceGetSerial', [dev, 'char *', 'uint']),
    vbios: fn('nvmlDeviceGetVbiosVersion', [dev, 'char *', 'uint']),
    index: fn('nvmlDeviceGetIndex', [dev, u32]),
    pci: fn('nvmlDeviceGetPciInfo_v3', [dev, k.out(k.pointer(t.pciInfo))]),
    cc: fn('nvmlDeviceGetCudaComputeCapability', [dev, i32, i32]),
    mig: fn('nvmlDeviceGetMigMode', [dev, u32, u32]),
    ecc: fn('nvmlDeviceGetEccMode', [dev, u32, u32]),
    persistence: fn('nvmlDeviceGetPersistenceMode', [dev, u32]),
    computeMode: fn('nvmlDeviceGetComputeMode', [dev, u32]),
    util: fn('nvmlDeviceGetUtilizationRates', [dev, k.out(k.pointer(t.utilization))]),
    encoder: fn('nvmlDeviceGetEncoderUtilization', [dev, u32, u32]),
    decoder: fn('nvmlDeviceGetDecoderUtilization', [dev, u32, u32]),
    jpeg: fn('nvmlDeviceGetJpgUtilization', [dev, u32, u32]),
    ofa: fn('nvmlDeviceGetOfaUtilization', [dev, u32, u32]),
    memoryV2: fn('nvmlDeviceGetMemoryInfo_v2', [dev, k.inout(k.pointer(t.memoryV2))]),
    memory: fn('nvmlDeviceGetMemoryInfo', [dev, k.out(k.pointer(t.memory))]),
    power: fn('nvmlDeviceGetPowerUsage', [dev, u32]),
    powerLimit: fn('nvmlDeviceGetEnforcedPowerLimit', [dev, u32]),
    energy: fn('nvmlDeviceGetTotalEnergyConsumption', [dev, u64]),
    temperatureV: fn('nvmlDeviceGetTemperatureV', [dev, k.inout(k.pointer(t.temperature))]),
    temperature: fn('nvmlDeviceGetTemperature', [dev, 'int', u32]),
    ecc_errors: fn('nvmlDeviceGetTotalEccErrors', [dev, 'int', 'int', u64]),
    clock: fn('nvmlDeviceGetClockInfo', [dev, 'int', u32]),
    maxClock: fn('nvmlDeviceGetMaxClockInfo', [dev, 'int', u32]),
    events: fn('nvmlDeviceGetCurrentClocksEventReasons', [dev, u64]),
    fan: fn('nvmlDeviceGetFanSpeed', [dev, u32]),
    pstate: fn('nvmlDeviceGetPerformanceState', [dev, u32]),
    linkGen: fn('nvmlDeviceGetCurrPcieLinkGeneration', [dev, u32]),
    linkWidth: fn('nvmlDeviceGetCurrPcieLinkWidth', [dev, u32]),
    remapped: fn('nvmlDeviceGetRemappedRows', [dev, u32, u32, u32, u32]),
    retired: fn('nvmlDeviceGetRetiredPages', [dev, 'int', k.inout(k.pointer('uint')), 'void *']),
    retiredPending: fn('nvmlDeviceGetRetiredPagesPendingStatus', [dev, u32]),
    fields: fn('nvmlDeviceGetFieldValues', [dev, 'int', 'void *']),
    procs: fn('nvmlDeviceGetComputeRunningProcesses_v3', [dev, k.inout(k.pointer('uint')), 'void *']),
    procUtil: fn('nvmlDeviceGetProcessUtilization', [dev, 'void *', k.inout(k.pointer('uint')), 'unsigned long long']),
    nvlinkState: fn('nvmlDeviceGetNvLinkState', [dev, 'uint', u32]),
    maxMig: fn('nvmlDeviceGetMaxMigDeviceCount', [dev, u32]),
    migByIndex: fn('nvmlDeviceGetMigDeviceHandleByIndex', [dev, 'uint', handleOut]),
    giId: fn('nvmlDeviceGetGpuInstanceId', [dev, u32]),
    ciId: fn('nvmlDeviceGetComputeInstanceId', [dev, u32]),
    eventSetCreate: fn('nvmlEventSetCreate', [handleOut]),
    registerEvents: fn('nvmlDeviceRegisterEvents', [dev, 'unsigned long long', 'void *']),
    eventSetWait: fn('nvmlEventSetWait_v2', ['void *', k.out(k.pointer(t.eventData)), 'uint']),
    eventSetFree: fn('nvmlEventSetFree', ['void *']),
    gpmSupport: fn('nvmlGpmQueryDeviceSupport', [dev, k.inout(k.pointer(t.gpmSupport))]),
    gpmAlloc: fn('nvmlGpmSampleAlloc', [handleOut]),
    gpmFree: fn('nvmlGpmSampleFree', ['void *']),
    gpmGet: fn('nvmlGpmSampleGet', [dev, 'void *']),
    gpmMigGet: fn('nvmlGpmMigSampleGet', [dev, 'uint', 'void *']),
    gpmMetrics: fn('nvmlGpmMetricsGet', [k.inout(k.pointer(t.gpmMetricsGet))]),
  };

  const str = async (fnc: Fn, d: DeviceHandle | undefined): Promise<Result<string>> => {
    const buf = Buffer.alloc(STRING_BUFFER);
    const ret = d === undefined ? await call(fnc, buf, STRING_BUFFER) : await call(fnc, d, buf, STRING_BUFFER);
    return ret === NVML.SUCCESS ? { ret, value: cString(buf) } : { ret };
  };
  const one = async <T = number>(fnc: Fn, args: unknown[], map: (v: unknown) => T = num as (v: unknown) => T): Promise<Result<T>> => {
    const out = [0];
    const ret = await call(fnc, ...args, out);
    return ret === NVML.SUCCESS ? { ret, value: map(out[0]) } : { ret };
  };
  const two = async (fnc: Fn, d: DeviceHandle) => {
    const a = [0];
    const b = [0];
    const ret = await call(fnc, d, a, b);
    return ret === NVML.SUCCESS ? { ret, value: [num(a[0]), num(b[0])] as const } : { ret };
  };
  const handle = async (fnc: Fn, args: unknown[]): Promise<Result<DeviceHandle>> => {
    const out: unknown[] = [null];
    const ret = await call(fnc, ...args, out);
    return ret === NVML.SUCCESS && out[0] !== null ? { ret, value: out[0] } : { ret: ret === NVML.SUCCESS ? NVML.ERROR_UNKNOWN : ret };
  };
  /** The NVML "ask for the count, then fill a buffer" protocol, bounded to a few rounds. */
  const list = async <T>(fnc: Fn, type: TypeObject, d: DeviceHandle, extra: unknown[], decode: (o: Record<string, unknown>) => T): Promise<Result<T[]>> => {
    let capacity = 0;
    for (let round = 0; round < 4; round++) {
      const size = k.sizeof(type);
      const buf = capacity > 0 ? Buffer.alloc(size * capacity) : null;
      const count = [capacity];
      const ret = extra.length
        ? await call(fnc, d, buf, count, ...extra)
        : await call(fnc, d, count, buf);
      const n = num(count[0]);
      if (ret === NVML.SUCCESS) {
        const out: T[] = [];
        for (let i = 0; i < Math.min(n, capacity); i++) out.push(decode(k.decode(buf!, i * size, type) as Record<string, unknown>));
        return { ret, value: out };
      }
      if (ret !== NVML.ERROR_INSUFFICIENT_SIZE) return { ret };
      // Processes come and go between the two calls: leave room for a few more.
      capacity = n + 8;
    }
    return { ret: NVML.ERROR_INSUFFICIENT_SIZE };
  };

  const api: NvmlApi = {
    init: () => call(f.init),
    shutdown: () => call(f.shutdown),
    systemGetDriverVersion: () => str(f.driverVersion, undefined),
    deviceGetCount: () => one(f.count, []),
    deviceGetHandleByIndex: (i) => handle(f.byIndex, [i]),
    deviceGetUUID: (d) => str(f.uuid, d),
    deviceGetName: (d) => str(f.name, d),
    deviceGetSerial: (d) => str(f.serial, d),
    deviceGetVbiosVersion: (d) => str(f.vbios, d),
    deviceGetIndex: (d) => one(f.index, [d]),
    async deviceGetPciInfo(d) {
      const out: Record<string, unknown> = {};
      const ret = await call(f.pci, d, out);
      return ret === NVML.SUCCESS ? { ret, value: { busId: String(out.busId ?? '').trim() } } : { ret };
    },
    async deviceGetCudaComputeCapability(d) {
      const r = await two(f.cc, d);
      return r.value ? { ret: r.ret, value: { major: r.value[0], minor: r.value[1] } } : { ret: r.ret };
    },
    async deviceGetMigMode(d) {
      const r = await two(f.mig, d);
      return r.value ? { ret: r.ret, value: { current: r.value[0], pending: r.value[1] } } : { ret: r.ret };
    },
    async deviceGetEccMode(d) {
      const r = await two(f.ecc, d);
      return r.value ? { ret: r.ret, value: { current: r.value[0], pending: r.value[1] } } : { ret: r.ret };
    },
    deviceGetPersistenceMode: (d) => one(f.persistence, [d]),
    deviceGetComputeMode: (d) => one(f.computeMode, [d]),
    async deviceGetUtilizationRates(d) {
      const out: Record<string, unknown> = {};
      const ret = await call(f.util, d, out);
      return ret === NVML.SUCCESS ? { ret, value: { gpu: num(out.gpu), memory: num(out.memory) } } : { ret };
    },
    async deviceGetEngineUtilization(d, engine) {
      const r = await two(f[engine], d);
      return r.value ? { ret: r.ret, value: r.value[0] } : { ret: r.ret };
    },
    async deviceGetMemoryInfo(d) {
      const v2: Record<string, unknown> = { version: structVersion(k.sizeof(t.memoryV2), 2) };
      let ret = await call(f.memoryV2, d, v2);
      if (ret === NVML.SUCCESS) {
        const value: MemoryInfo = { total: num(v2.total), used: num(v2.used), free: num(v2.free), reserved: num(v2.reserved) };
        return { ret, value };
      }
      if (ret !== NVML.ERROR_FUNCTION_NOT_FOUND && ret !== NVML.ERROR_ARGUMENT_VERSION_MISMATCH) return { ret };
      const v1: Record<string, unknown> = {};
      ret = await call(f.memory, d, v1);
      return ret === NVML.SUCCESS ? { ret, value: { total: num(v1.total), used: num(v1.used), free: num(v1.free) } } : { ret };
    },
    deviceGetPowerUsage: (d) => one(f.power, [d]),
    deviceGetEnforcedPowerLimit: (d) => one(f.powerLimit, [d]),
    deviceGetTotalEnergyConsumption: (d) => one(f.energy, [d]),
    async deviceGetTemperatureGpu(d) {
      const v: Record<string, unknown> = { version: structVersion(k.sizeof(t.temperature), 1), sensorType: 0, temperature: 0 };
      const ret = await call(f.temperatureV, d, v);
      if (ret === NVML.SUCCESS) return { ret, value: num(v.temperature) };
      if (ret !== NVML.ERROR_FUNCTION_NOT_FOUND) return { ret };
      return one(f.temperature, [d, 0]);
    },
    deviceGetTotalEccErrors: (d, e, c) => one(f.ecc_errors, [d, e, c]),
    deviceGetClockInfo: (d, c) => one(f.clock, [d, c]),
    deviceGetMaxClockInfo: (d, c) => one(f.maxClock, [d, c]),
    deviceGetCurrentClocksEventReasons: (d) => one(f.events, [d], (v) => BigInt(v as number | bigint)),
    deviceGetFanSpeed: (d) => one(f.fan, [d]),
    deviceGetPerformanceState: (d) => one(f.pstate, [d]),
    deviceGetCurrPcieLinkGeneration: (d) => one(f.linkGen, [d]),
    deviceGetCurrPcieLinkWidth: (d) => one(f.linkWidth, [d]),
    async deviceGetRemappedRows(d) {
      const o = [[0], [0], [0], [0]];
      const ret = await call(f.remapped, d, ...o);
      if (ret !== NVML.SUCCESS) return { ret };
      const [corrRows, uncRows, isPending, failureOccurred] = o.map((x) => num(x[0]));
      return { ret, value: { corrRows: corrRows!, uncRows: uncRows!, isPending: isPending!, failureOccurred: failureOccurred! } };
    },
    async deviceGetRetiredPagesCount(d, cause) {
      // pageCount 0 asks for the count only; a one-entry buffer keeps drivers that reject NULL happy.
      const count = [0];
      const ret = await call(f.retired, d, cause, count, Buffer.alloc(8));
      return ret === NVML.SUCCESS || ret === NVML.ERROR_INSUFFICIENT_SIZE ? { ret: NVML.SUCCESS, value: num(count[0]) } : { ret };
    },
    deviceGetRetiredPagesPendingStatus: (d) => one(f.retiredPending, [d]),
    async deviceGetFieldValues(d, fields: readonly FieldRequest[]) {
      const size = k.sizeof(t.fieldValue);
      const buf = Buffer.alloc(size * fields.length);
      fields.forEach((q, i) => k.encode(buf, i * size, t.fieldValue, { fieldId: q.fieldId, scopeId: q.scopeId ?? 0, timestamp: 0, latencyUsec: 0, valueType: 0, nvmlReturn: 0, value: [0, 0, 0, 0, 0, 0, 0, 0] }));
      const ret = await call(f.fields, d, fields.length, buf);
      if (ret !== NVML.SUCCESS) return { ret };
      const value: FieldResult[] = fields.map((_, i) => {
        const o = k.decode(buf, i * size, t.fieldValue) as { fieldId: number; scopeId: number; valueType: number; nvmlReturn: number; value: number[] };
        const v = o.nvmlReturn === NVML.SUCCESS ? fieldNumber(o.valueType, o.value) : undefined;
        return { fieldId: o.fieldId, scopeId: o.scopeId, ret: o.nvmlReturn, ...(v !== undefined ? { value: v } : {}) };
      });
      return { ret, value };
    },
    deviceGetComputeRunningProcesses: (d) =>
      list(f.procs, t.processInfo, d, [], (o): ProcessInfo => {
        const mem = BigInt(o.usedGpuMemory as number | bigint);
        return {
          pid: num(o.pid),
          ...(mem === NVML_VALUE_NOT_AVAILABLE ? {} : { usedGpuMemory: Number(mem) }),
          gpuInstanceId: num(o.gpuInstanceId),
          computeInstanceId: num(o.computeInstanceId),
        };
      }),
    deviceGetProcessUtilization: (d, since) =>
      list(f.procUtil, t.processUtil, d, [since], (o): ProcessUtilizationSample => ({
        pid: num(o.pid),
        timeStamp: num(o.timeStamp),
        smUtil: num(o.smUtil),
        memUtil: num(o.memUtil),
        encUtil: num(o.encUtil),
        decUtil: num(o.decUtil),
      })),
    deviceGetNvLinkState: (d, link) => one(f.nvlinkState, [d, link]),
    deviceGetMaxMigDeviceCount: (d) => one(f.maxMig, [d]),
    deviceGetMigDeviceHandleByIndex: (d, i) => handle(f.migByIndex, [d, i]),
    deviceGetGpuInstanceId: (d) => one(f.giId, [d]),
    deviceGetComputeInstanceId: (d) => one(f.ciId, [d]),
    eventSetCreate: () => handle(f.eventSetCreate, []),
    deviceRegisterEvents: (d, types, set) => call(f.registerEvents, d, types, set),
    async eventSetWait(set, timeoutMs) {
      const out: Record<string, unknown> = {};
      const ret = await call(f.eventSetWait, set, out, timeoutMs);
      if (ret !== NVML.SUCCESS) return { ret };
      const value: EventData = {
        device: out.device,
        eventType: BigInt(out.eventType as number | bigint),
        eventData: BigInt(out.eventData as number | bigint),
        gpuInstanceId: num(out.gpuInstanceId),
        computeInstanceId: num(out.computeInstanceId),
      };
      return { ret, value };
    },
    eventSetFree: (set) => call(f.eventSetFree, set),
    async gpmQueryDeviceSupport(d) {
      const v: Record<string, unknown> = { version: 1, isSupportedDevice: 0 };
      const ret = await call(f.gpmSupport, d, v);
      return ret === NVML.SUCCESS ? { ret, value: num(v.isSupportedDevice) !== 0 } : { ret };
    },
    gpmSampleAlloc: () => handle(f.gpmAlloc, []),
    gpmSampleFree: (s) => call(f.gpmFree, s),
    gpmSampleGet: (d, s) => call(f.gpmGet, d, s),
    gpmMigSampleGet: (d, gi, s) => call(f.gpmMigGet, d, gi, s),
    async gpmMetricsGet(s1, s2, ids) {
      const metrics = Array.from({ length: GPM_METRIC_MAX }, (_, i) => ({ metricId: ids[i] ?? 0, nvmlReturn: 0, value: 0, shortName: null, longName: null, unit: null }));
      const v: Record<string, unknown> = { version: 1, numMetrics: ids.length, sample1: s1, sample2: s2, metrics };
      const ret = await call(f.gpmMetrics, v);
      if (ret !== NVML.SUCCESS) return { ret };
      const out = (v.metrics as { metricId: number; nvmlReturn: number; value: number }[]).slice(0, ids.length);
      return { ret, value: out.map((m): GpmMetricResult => ({ metricId: m.metricId, ret: m.nvmlReturn, value: m.value })) };
    },
    sameDevice: (a, b) => a === b,
    exitNow(code) {
      // The process's own symbols (dlopen(NULL)) include the C library's _exit, whatever its file name.
      k.load(null).func('void _exit(int)')(code);
    },
  };
  return api;
}
