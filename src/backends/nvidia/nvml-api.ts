// The part of NVML the nvml backend uses, as an asynchronous TypeScript
// interface. The koffi binding (nvml-koffi.ts) implements it against
// libnvidia-ml; unit tests implement it in TypeScript. Every method resolves
// with NVML's return code and, on success, the value: nothing here throws for
// an NVML error, so the reader decides per field what an error means.
// Constants are NVML's own (nvml.h, API version 13).

/** An opaque device handle (nvmlDevice_t). */
export type DeviceHandle = unknown;
/** An opaque event set (nvmlEventSet_t). */
export type EventSetHandle = unknown;
/** An opaque GPM sample buffer (nvmlGpmSample_t). */
export type GpmSampleHandle = unknown;

export interface Result<T> {
  readonly ret: number;
  readonly value?: T;
}

export const NVML = {
  SUCCESS: 0,
  ERROR_UNINITIALIZED: 1,
  ERROR_INVALID_ARGUMENT: 2,
  ERROR_NOT_SUPPORTED: 3,
  ERROR_NO_PERMISSION: 4,
  ERROR_NOT_FOUND: 6,
  ERROR_INSUFFICIENT_SIZE: 7,
  ERROR_DRIVER_NOT_LOADED: 9,
  ERROR_TIMEOUT: 10,
  ERROR_LIBRARY_NOT_FOUND: 12,
  ERROR_FUNCTION_NOT_FOUND: 13,
  ERROR_GPU_IS_LOST: 15,
  ERROR_RESET_REQUIRED: 16,
  ERROR_LIB_RM_VERSION_MISMATCH: 18,
  ERROR_ARGUMENT_VERSION_MISMATCH: 25,
  ERROR_GPU_NOT_FOUND: 28,
  ERROR_UNKNOWN: 999,
} as const;

const ERROR_TEXT: Readonly<Record<number, string>> = {
  0: 'Success',
  1: 'Uninitialized',
  2: 'Invalid Argument',
  3: 'Not Supported',
  4: 'Insufficient Permissions',
  5: 'Already Initialized',
  6: 'Not Found',
  7: 'Insufficient Size',
  8: 'Insufficient External Power',
  9: 'Driver Not Loaded',
  10: 'Timeout',
  11: 'Interrupt request issue',
  12: 'NVML Shared Library Not Found',
  13: 'Function Not Found',
  14: 'Corrupted infoROM',
  15: 'GPU is lost',
  16: 'GPU requires restart',
  17: 'The operating system has blocked the request.',
  18: 'RM has detected an NVML/RM version mismatch.',
  19: 'In use by another client',
  20: 'Insufficient Memory',
  21: 'No data',
  25: 'Argument version mismatch',
  26: 'Deprecated',
  27: 'Not ready',
  28: 'GPU not found',
  29: 'Invalid state',
  999: 'Unknown Error',
};

/** nvmlErrorString's text, without calling into the library (a lookup must not block). */
export function errorText(ret: number): string {
  return ERROR_TEXT[ret] ?? `NVML error ${ret}`;
}

export const CLOCK = { GRAPHICS: 0, SM: 1, MEM: 2, VIDEO: 3 } as const;
export const PCIE_UTIL = { TX_BYTES: 0, RX_BYTES: 1 } as const;
export const ENABLE_STATE = { DISABLED: 0, ENABLED: 1 } as const;
export const EVENT_TYPE_XID_CRITICAL_ERROR = 0x8n;

/** nvmlDeviceGetFieldValues field ids used here. */
export const FI = {
  NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL: 38,
  NVLINK_CRC_DATA_ERROR_COUNT_TOTAL: 45,
  NVLINK_REPLAY_ERROR_COUNT_TOTAL: 52,
  NVLINK_RECOVERY_ERROR_COUNT_TOTAL: 59,
  PERF_POLICY_POWER: 74,
  PERF_POLICY_SYNC_BOOST: 76,
  MEMORY_TEMP: 82,
  NVLINK_LINK_COUNT: 91,
  PCIE_REPLAY_COUNTER: 94,
  NVLINK_THROUGHPUT_DATA_TX: 138,
  NVLINK_THROUGHPUT_DATA_RX: 139,
  NVLINK_ECC_DATA_ERROR_COUNT_TOTAL: 160,
  NVLINK_GET_STATE: 165,
  PCIE_COUNT_TX_BYTES: 197,
  PCIE_COUNT_RX_BYTES: 198,
  GET_GPU_RECOVERY_ACTION: 230,
  CLOCKS_EVENT_REASON_SW_THERM_SLOWDOWN: 269,
  CLOCKS_EVENT_REASON_HW_THERM_SLOWDOWN: 270,
  CLOCKS_EVENT_REASON_HW_POWER_BRAKE_SLOWDOWN: 271,
} as const;

/** nvmlGpmMetricId_t values used here. */
export const GPM_METRIC = {
  GRAPHICS_UTIL: 1,
  SM_UTIL: 2,
  SM_OCCUPANCY: 3,
  ANY_TENSOR_UTIL: 5,
  DRAM_BW_UTIL: 10,
  FP64_UTIL: 11,
  FP32_UTIL: 12,
  FP16_UTIL: 13,
  PCIE_TX_PER_SEC: 20,
  PCIE_RX_PER_SEC: 21,
  NVLINK_TOTAL_RX_PER_SEC: 60,
  NVLINK_TOTAL_TX_PER_SEC: 61,
} as const;

export interface FieldRequest {
  readonly fieldId: number;
  readonly scopeId?: number;
}

/** One nvmlFieldValue_t: its own return code, and the value as a number when it succeeded. */
export interface FieldResult {
  readonly fieldId: number;
  readonly scopeId: number;
  readonly ret: number;
  readonly value?: number;
}

export interface PciInfo {
  /** `domain:bus:device.function`, as NVML writes it (`00000000:3B:00.0`). */
  readonly busId: string;
}

export interface MemoryInfo {
  readonly total: number;
  readonly used: number;
  readonly free: number;
  readonly reserved?: number;
}

export interface ProcessInfo {
  readonly pid: number;
  /** Bytes; undefined where NVML reports NVML_VALUE_NOT_AVAILABLE. */
  readonly usedGpuMemory?: number;
  readonly gpuInstanceId: number;
  readonly computeInstanceId: number;
}

export interface ProcessUtilizationSample {
  readonly pid: number;
  /** CPU timestamp of the sample, microseconds. */
  readonly timeStamp: number;
  /** Percent. */
  readonly smUtil: number;
  readonly memUtil: number;
  readonly encUtil: number;
  readonly decUtil: number;
}

export interface RemappedRows {
  readonly corrRows: number;
  readonly uncRows: number;
  readonly isPending: number;
  readonly failureOccurred: number;
}

export interface EventData {
  readonly device: DeviceHandle;
  readonly eventType: bigint;
  readonly eventData: bigint;
  readonly gpuInstanceId: number;
  readonly computeInstanceId: number;
}

export interface GpmMetricResult {
  readonly metricId: number;
  readonly ret: number;
  readonly value: number;
}

/** The NVML calls the backend makes. Each one may block in the driver: implementations run it off the event loop. */
export interface NvmlApi {
  init(): Promise<number>;
  shutdown(): Promise<number>;
  systemGetDriverVersion(): Promise<Result<string>>;
  deviceGetCount(): Promise<Result<number>>;
  deviceGetHandleByIndex(index: number): Promise<Result<DeviceHandle>>;
  deviceGetUUID(d: DeviceHandle): Promise<Result<string>>;
  deviceGetName(d: DeviceHandle): Promise<Result<string>>;
  deviceGetSerial(d: DeviceHandle): Promise<Result<string>>;
  deviceGetVbiosVersion(d: DeviceHandle): Promise<Result<string>>;
  deviceGetIndex(d: DeviceHandle): Promise<Result<number>>;
  deviceGetPciInfo(d: DeviceHandle): Promise<Result<PciInfo>>;
  deviceGetCudaComputeCapability(d: DeviceHandle): Promise<Result<{ major: number; minor: number }>>;
  deviceGetMigMode(d: DeviceHandle): Promise<Result<{ current: number; pending: number }>>;
  deviceGetEccMode(d: DeviceHandle): Promise<Result<{ current: number; pending: number }>>;
  deviceGetPersistenceMode(d: DeviceHandle): Promise<Result<number>>;
  deviceGetComputeMode(d: DeviceHandle): Promise<Result<number>>;
  deviceGetUtilizationRates(d: DeviceHandle): Promise<Result<{ gpu: number; memory: number }>>;
  /** Encoder, decoder, JPEG or OFA utilisation, percent. */
  deviceGetEngineUtilization(d: DeviceHandle, engine: 'encoder' | 'decoder' | 'jpeg' | 'ofa'): Promise<Result<number>>;
  deviceGetMemoryInfo(d: DeviceHandle): Promise<Result<MemoryInfo>>;
  /** Milliwatts. */
  deviceGetPowerUsage(d: DeviceHandle): Promise<Result<number>>;
  deviceGetEnforcedPowerLimit(d: DeviceHandle): Promise<Result<number>>;
  /** Millijoules since the driver loaded. */
  deviceGetTotalEnergyConsumption(d: DeviceHandle): Promise<Result<number>>;
  /** GPU die temperature, degrees Celsius. */
  deviceGetTemperatureGpu(d: DeviceHandle): Promise<Result<number>>;
  deviceGetTotalEccErrors(d: DeviceHandle, errorType: 0 | 1, counterType: 0 | 1): Promise<Result<number>>;
  /** MHz. */
  deviceGetClockInfo(d: DeviceHandle, clock: number): Promise<Result<number>>;
  deviceGetMaxClockInfo(d: DeviceHandle, clock: number): Promise<Result<number>>;
  deviceGetCurrentClocksEventReasons(d: DeviceHandle): Promise<Result<bigint>>;
  deviceGetFanSpeed(d: DeviceHandle): Promise<Result<number>>;
  deviceGetPerformanceState(d: DeviceHandle): Promise<Result<number>>;
  deviceGetCurrPcieLinkGeneration(d: DeviceHandle): Promise<Result<number>>;
  deviceGetCurrPcieLinkWidth(d: DeviceHandle): Promise<Result<number>>;
  deviceGetRemappedRows(d: DeviceHandle): Promise<Result<RemappedRows>>;
  /** Count of retired pages for a cause (0 multiple single-bit, 1 double-bit). */
  deviceGetRetiredPagesCount(d: DeviceHandle, cause: 0 | 1): Promise<Result<number>>;
  deviceGetRetiredPagesPendingStatus(d: DeviceHandle): Promise<Result<number>>;
  deviceGetFieldValues(d: DeviceHandle, fields: readonly FieldRequest[]): Promise<Result<FieldResult[]>>;
  deviceGetComputeRunningProcesses(d: DeviceHandle): Promise<Result<ProcessInfo[]>>;
  deviceGetProcessUtilization(d: DeviceHandle, lastSeenTimeStamp: number): Promise<Result<ProcessUtilizationSample[]>>;
  deviceGetNvLinkState(d: DeviceHandle, link: number): Promise<Result<number>>;
  deviceGetMaxMigDeviceCount(d: DeviceHandle): Promise<Result<number>>;
  deviceGetMigDeviceHandleByIndex(d: DeviceHandle, index: number): Promise<Result<DeviceHandle>>;
  deviceGetGpuInstanceId(d: DeviceHandle): Promise<Result<number>>;
  deviceGetComputeInstanceId(d: DeviceHandle): Promise<Result<number>>;
  eventSetCreate(): Promise<Result<EventSetHandle>>;
  deviceRegisterEvents(d: DeviceHandle, eventTypes: bigint, set: EventSetHandle): Promise<number>;
  /** Waits up to timeoutMs (0: only what is queued) for one event. */
  eventSetWait(set: EventSetHandle, timeoutMs: number): Promise<Result<EventData>>;
  eventSetFree(set: EventSetHandle): Promise<number>;
  gpmQueryDeviceSupport(d: DeviceHandle): Promise<Result<boolean>>;
  gpmSampleAlloc(): Promise<Result<GpmSampleHandle>>;
  gpmSampleFree(s: GpmSampleHandle): Promise<number>;
  gpmSampleGet(d: DeviceHandle, s: GpmSampleHandle): Promise<number>;
  gpmMigSampleGet(d: DeviceHandle, gpuInstanceId: number, s: GpmSampleHandle): Promise<number>;
  gpmMetricsGet(s1: GpmSampleHandle, s2: GpmSampleHandle, metricIds: readonly number[]): Promise<Result<GpmMetricResult[]>>;
  /** Handles are compared by address (an event names its device by handle). */
  sameDevice(a: DeviceHandle, b: DeviceHandle): boolean;
  /**
   * Ends the process at once with this status (C `_exit`). Needed while a call is
   * blocked in the driver: Node's normal exit waits for the thread making it, forever.
   */
  exitNow(code: number): void;
}
