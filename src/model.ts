// Domain types shared by every backend, the poller and the metric families.
// Backends convert units at the edge: ratios are 0..1, memory in bytes,
// clocks in hertz, durations in seconds. An absent field means "the tool did
// not report it" and becomes an absent series, never a zero.

export type Vendor = 'nvidia' | 'amd' | 'intel' | 'habana' | 'aws';

export interface DeviceIdentity {
  readonly vendor: Vendor;
  /** The vendor's stable id (NVIDIA `GPU-...`/`MIG-...`); the series key. */
  readonly uuid: string;
  /** Normalised `dddd:bb:dd.f`, lower case; empty when the tool has none. */
  readonly pciBusId: string;
  /** The index the tool reports, as text (`0`, `1`, or `0/1` for partitions). */
  readonly index: string;
  readonly model: string;
  /** Set for partitions (MIG, AMD XCP, tiles): the physical device's uuid. */
  readonly parentUuid?: string;
}

export interface LabelledValue<K extends string> {
  readonly key: K;
  readonly value: number;
}

export type TemperatureSensor = 'gpu' | 'hotspot' | 'memory' | 'edge';
export type ErrorType = 'ecc_corrected' | 'ecc_uncorrected';
export type ClockDomain = 'graphics' | 'sm' | 'memory' | 'video';
export type Engine = 'encoder' | 'decoder' | 'jpeg' | 'ofa' | 'vcn';

export interface DeviceSample {
  readonly id: DeviceIdentity;
  /** Static or rarely changing properties, exported on accelerator_info. */
  readonly info: Readonly<Partial<Record<InfoKey, string>>>;
  readonly utilizationRatio?: number;
  readonly memoryUsedBytes?: number;
  readonly memoryTotalBytes?: number;
  /** Share of time the memory controller was busy (nvidia utilization.memory). */
  readonly memoryControllerUtilizationRatio?: number;
  readonly powerWatts?: number;
  readonly powerLimitWatts?: number;
  /** Cumulative energy since the driver started counting. */
  readonly energyJoules?: number;
  readonly temperaturesCelsius: readonly LabelledValue<TemperatureSensor>[];
  /** Cumulative error counts since the driver loaded. */
  readonly errors: readonly LabelledValue<ErrorType>[];
  readonly clocksHertz: readonly LabelledValue<ClockDomain>[];
  readonly maxClocksHertz: readonly LabelledValue<ClockDomain>[];
  readonly engineUtilizationRatio: readonly LabelledValue<Engine>[];
  /** Clock event (throttle) reasons: 1 active, 0 not active. */
  readonly clockEventsActive: readonly LabelledValue<string>[];
  /** Cumulative time spent in each clock event reason, seconds. */
  readonly clockEventSeconds: readonly LabelledValue<string>[];
  readonly fanSpeedRatio?: number;
  readonly performanceState?: number;
  readonly pcieLinkGeneration?: number;
  readonly pcieLinkWidth?: number;
  readonly remappedRows: readonly LabelledValue<'correctable' | 'uncorrectable'>[];
  readonly remappedRowsPending?: number;
  readonly remappedRowsFailure?: number;
  readonly retiredPages: readonly LabelledValue<'single_bit_ecc' | 'double_bit_ecc'>[];
  readonly retiredPagesPending?: number;
  /** NVIDIA gpu_recovery_action: 0 none, 1 GPU reset, 2 node reboot, 3 drain P2P, 4 drain and reset. */
  readonly recoveryAction?: number;
  /** Current PCIe throughput, both directions together (AMD pcie.bandwidth). */
  readonly pcieBandwidthBytesPerSecond?: number;
  /** Per compute core (AWS NeuronCore) busy fraction, 0..1, keyed by the tool's core index. */
  readonly coreUtilizationRatio?: readonly LabelledValue<string>[];
  // --- NVML additions (nvml backend) ---
  /** Cumulative bytes over the device's interconnects, by link type and direction. */
  readonly ioBytes?: readonly IoCounter[];
  /** PCIe replays (link-level retransmissions) since the driver loaded. */
  readonly pcieReplays?: number;
  /** NVLink link state by link index: 1 active, 0 inactive. */
  readonly nvlinkUp?: readonly LabelledValue<string>[];
  /** NVLink errors summed over the device's links since the driver loaded, by type. */
  readonly nvlinkErrors?: readonly LabelledValue<string>[];
  /** XID errors seen since the exporter subscribed, by XID code. */
  readonly xidErrors?: readonly XidCount[];
  /** Profiling ratios and bandwidths from two GPM samples over the last interval. */
  readonly profiling?: Readonly<Partial<Record<ProfilingMetric, number>>>;
}

export type LinkType = 'pcie' | 'nvlink';
export type IoDirection = 'receive' | 'transmit';

export interface IoCounter {
  readonly link: LinkType;
  readonly direction: IoDirection;
  readonly bytes: number;
}

export interface XidCount {
  readonly xid: string;
  readonly count: number;
  /** Unix time of the last one, seconds. */
  readonly lastSeconds: number;
}

export const PROFILING_METRICS = [
  'graphics_active',
  'sm_active',
  'sm_occupancy',
  'tensor_active',
  'fp64_active',
  'fp32_active',
  'fp16_active',
  'dram_active',
  'pcie_transmit_bytes_per_second',
  'pcie_receive_bytes_per_second',
  'nvlink_transmit_bytes_per_second',
  'nvlink_receive_bytes_per_second',
] as const;
export type ProfilingMetric = (typeof PROFILING_METRICS)[number];

export const INFO_KEYS = [
  'driver_version',
  'vbios_version',
  'serial',
  'compute_capability',
  'mig_mode',
  'ecc_mode',
  'persistence_mode',
  'compute_mode',
] as const;
export type InfoKey = (typeof INFO_KEYS)[number];

/** One process using a device, as the vendor tool lists it. */
export interface ProcessSample {
  readonly deviceUuid: string;
  readonly pid: number;
  readonly name: string;
  readonly memoryUsedBytes?: number;
  /**
   * The process's own share of the device over the last interval, 0..1 (NVML process
   * utilisation samples: SM, memory controller, encoder, decoder); absent where the tool has none.
   */
  readonly utilizationRatio?: number;
  readonly memoryControllerUtilizationRatio?: number;
  readonly encoderUtilizationRatio?: number;
  readonly decoderUtilizationRatio?: number;
}

/** A device the tool named but could not read (fell off the bus, needs reset). */
export interface LostDevice {
  readonly pciBusId: string;
  readonly message: string;
  /** The tool's index, where it names the device by index only (NVML before the device ever answered). */
  readonly index?: string;
}

export interface BackendReading {
  readonly devices: readonly DeviceSample[];
  /**
   * Processes on the devices; undefined when the tool lists none at all (hl-smi, xpu-smi) or its
   * process query failed this sample, so that no process count is invented.
   */
  readonly processes?: readonly ProcessSample[];
  readonly lost: readonly LostDevice[];
}

export function emptyDevice(id: DeviceIdentity): DeviceSample {
  return {
    id,
    info: {},
    temperaturesCelsius: [],
    errors: [],
    clocksHertz: [],
    maxClocksHertz: [],
    engineUtilizationRatio: [],
    clockEventsActive: [],
    clockEventSeconds: [],
    remappedRows: [],
    retiredPages: [],
  };
}

/** `00000000:3B:00.0` and `0000:3b:00.0` are the same device: 4-digit domain, lower case. */
export function normalizePciBusId(raw: string): string {
  const m = /^(?:([0-9a-fA-F]+):)?([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})\.([0-7])$/.exec(raw.trim());
  if (!m) return '';
  const domain = (m[1] ?? '0').replace(/^0+(?=.)/, '').padStart(4, '0').toLowerCase();
  const bus = m[2]!.padStart(2, '0').toLowerCase();
  const dev = m[3]!.padStart(2, '0').toLowerCase();
  return `${domain}:${bus}:${dev}.${m[4]}`;
}
