// Device metric families. Names follow the OpenTelemetry hardware semantic
// conventions in their Prometheus form (hw_*); what no convention covers is
// under accelerator_*. Identity labels are added here, in one place.

import type { DeviceIdentity, DeviceSample, LabelledValue } from '../model.ts';
import { INFO_KEYS } from '../model.ts';
import type { Snapshot } from '../collect/snapshot.ts';
import type { MetricFamily, MetricType, Sample, Stability } from './family.ts';

/**
 * `parent_uuid` names the physical device of a partition that is exported beside
 * that device (Intel tiles next to their GPU), so that a sum over `{parent_uuid=""}`
 * never counts a tile's power or memory twice. It stays empty for physical devices
 * and for partitions that stand in for a device no series describes (AMD compute
 * partitions, where amd-smi reports the device's values on the partitions).
 */
export const IDENTITY_LABELS = ['uuid', 'pci_bus_id', 'gpu', 'vendor', 'model', 'parent_uuid'] as const;

export function identityValues(id: DeviceIdentity, exported: ReadonlySet<string>): string[] {
  const parent = id.parentUuid !== undefined && exported.has(id.parentUuid) ? id.parentUuid : '';
  return [id.uuid, id.pciBusId, id.index, id.vendor, id.model, parent];
}

/** Uuids of the devices the snapshot exports, to tell which partitions have a parent series. */
function exportedUuids(s: Snapshot): Set<string> {
  return new Set(s.devices.map((d) => d.id.uuid));
}

export interface DeviceFamilySpec {
  readonly name: string;
  readonly help: string;
  readonly type?: MetricType;
  readonly unit?: string;
  readonly stability?: Stability;
  readonly otel?: string;
  readonly extraLabels?: readonly string[];
  /** Extra label values and the value, per device; nothing when the device did not report it. */
  readonly values: (d: DeviceSample, s: Snapshot) => Iterable<readonly [readonly string[], number]>;
}

export function deviceFamily(spec: DeviceFamilySpec): MetricFamily {
  const extra = spec.extraLabels ?? [];
  return {
    name: spec.name,
    help: spec.help,
    type: spec.type ?? 'gauge',
    unit: spec.unit ?? '',
    stability: spec.stability ?? 'alpha',
    otel: spec.otel,
    labelNames: [...IDENTITY_LABELS, ...extra],
    *samples(s: Snapshot): Iterable<Sample> {
      const exported = exportedUuids(s);
      for (const d of s.devices) {
        const id = identityValues(d.id, exported);
        for (const [labels, value] of spec.values(d, s)) yield { labels: [...id, ...labels], value };
      }
    },
  };
}

/** A scalar field: one series per device that reported it. */
export function scalar(name: string, help: string, get: (d: DeviceSample) => number | undefined, extra: Partial<DeviceFamilySpec> = {}): MetricFamily {
  return deviceFamily({
    name,
    help,
    ...extra,
    *values(d) {
      const v = get(d);
      if (v !== undefined) yield [[], v];
    },
  });
}

/** A labelled list field: one series per (device, key) reported. */
export function keyed<K extends string>(name: string, help: string, label: string, get: (d: DeviceSample) => readonly LabelledValue<K>[], extra: Partial<DeviceFamilySpec> = {}): MetricFamily {
  return deviceFamily({
    name,
    help,
    extraLabels: [label],
    ...extra,
    *values(d) {
      for (const kv of get(d)) yield [[kv.key], kv.value];
    },
  });
}

export const DEVICE_FAMILIES: readonly MetricFamily[] = [
  deviceFamily({
    name: 'accelerator_info',
    help: 'Static properties of an accelerator; always 1. Join on uuid for driver, serial and mode labels.',
    extraLabels: [...INFO_KEYS],
    stability: 'stable',
    *values(d) {
      yield [INFO_KEYS.map((k) => d.info[k] ?? ''), 1];
    },
  }),
  scalar('hw_gpu_utilization_ratio', 'Fraction of time the device was busy running work (0..1) over the tool\'s last sample period.', (d) => d.utilizationRatio, {
    unit: 'ratio',
    stability: 'stable',
    otel: 'hw.gpu.utilization',
  }),
  scalar('hw_gpu_memory_usage_bytes', 'Device memory in use, bytes.', (d) => d.memoryUsedBytes, {
    unit: 'bytes',
    stability: 'stable',
    otel: 'hw.gpu.memory.usage',
  }),
  scalar('hw_gpu_memory_limit_bytes', 'Device memory size, bytes.', (d) => d.memoryTotalBytes, {
    unit: 'bytes',
    stability: 'stable',
    otel: 'hw.gpu.memory.limit',
  }),
  scalar('hw_power_watts', 'Power drawn by the device, watts.', (d) => d.powerWatts, { unit: 'watts', stability: 'stable', otel: 'hw.power' }),
  scalar('hw_energy_joules_total', 'Energy consumed by the device since the driver started counting, joules.', (d) => d.energyJoules, {
    type: 'counter',
    unit: 'joules',
    stability: 'stable',
    otel: 'hw.energy',
  }),
  keyed('hw_temperature_celsius', 'Temperature of a device sensor, degrees Celsius.', 'sensor', (d) => d.temperaturesCelsius, {
    unit: 'celsius',
    stability: 'stable',
    otel: 'hw.temperature',
  }),
  keyed('hw_errors_total', 'Errors the device counted since the driver loaded, by type (ECC corrected and uncorrected).', 'error_type', (d) => d.errors, {
    type: 'counter',
    stability: 'stable',
    otel: 'hw.errors',
  }),
  scalar('accelerator_power_limit_watts', 'Power limit the driver enforces, watts.', (d) => d.powerLimitWatts, { unit: 'watts' }),
  scalar('accelerator_memory_controller_utilization_ratio', 'Fraction of time device memory was being read or written (0..1).', (d) => d.memoryControllerUtilizationRatio, { unit: 'ratio' }),
  keyed('accelerator_engine_utilization_ratio', 'Utilisation of a fixed-function engine (encoder, decoder, jpeg, ofa), 0..1.', 'engine', (d) => d.engineUtilizationRatio, { unit: 'ratio' }),
  keyed('accelerator_clock_hertz', 'Current clock frequency of a clock domain, hertz.', 'clock', (d) => d.clocksHertz, { unit: 'hertz' }),
  keyed('accelerator_clock_max_hertz', 'Maximum clock frequency of a clock domain, hertz.', 'clock', (d) => d.maxClocksHertz, { unit: 'hertz' }),
  keyed('accelerator_clock_event_active', 'Whether a clock event (throttle) reason is active now: 1 active, 0 not.', 'reason', (d) => d.clockEventsActive),
  keyed('accelerator_clock_event_seconds_total', 'Time clocks were held down by a clock event reason since the driver loaded, seconds.', 'reason', (d) => d.clockEventSeconds, {
    type: 'counter',
    unit: 'seconds',
  }),
  scalar('accelerator_fan_speed_ratio', 'Fan speed as a fraction of its maximum (0..1).', (d) => d.fanSpeedRatio, { unit: 'ratio' }),
  scalar('accelerator_performance_state', 'Performance state: 0 (P0, maximum performance) to 15 (P15, minimum).', (d) => d.performanceState),
  scalar('accelerator_pcie_link_generation', 'Current PCIe link generation.', (d) => d.pcieLinkGeneration),
  scalar('accelerator_pcie_link_width', 'Current PCIe link width, lanes.', (d) => d.pcieLinkWidth),
  keyed('accelerator_remapped_rows', 'Memory rows remapped, by kind (correctable, uncorrectable).', 'kind', (d) => d.remappedRows),
  scalar('accelerator_remapped_rows_pending', 'A row remapping is pending and needs a GPU reset: 1 yes, 0 no.', (d) => d.remappedRowsPending),
  scalar('accelerator_remapped_rows_failure', 'A row remapping failed (an RMA criterion): 1 yes, 0 no.', (d) => d.remappedRowsFailure),
  keyed('accelerator_retired_pages', 'Memory pages retired, by cause (single_bit_ecc, double_bit_ecc).', 'cause', (d) => d.retiredPages),
  scalar('accelerator_retired_pages_pending', 'A page retirement is pending until the next reboot: 1 yes, 0 no.', (d) => d.retiredPagesPending),
  scalar('accelerator_recovery_action', 'Recovery the driver asks for: 0 none, 1 GPU reset, 2 node reboot, 3 drain peer-to-peer, 4 drain and reset.', (d) => d.recoveryAction),
  deviceFamily({
    name: 'accelerator_processes',
    help: 'Compute processes the vendor tool lists on the device; absent where the tool lists no processes (hl-smi, xpu-smi) or its process query failed.',
    *values(d, s) {
      // Only where the tool lists processes: a tool without a process list must not read as "0 processes".
      if (!s.processListed.has(d.id.uuid)) return;
      // A process listed on a partition (NVML lists them per MIG device) also runs on its physical device.
      const partitions = new Set(s.devices.filter((c) => c.id.parentUuid === d.id.uuid).map((c) => c.id.uuid));
      yield [[], s.processes.filter((p) => p.deviceUuid === d.id.uuid || p.deviceUuid === d.id.parentUuid || partitions.has(p.deviceUuid)).length];
    },
  }),
  scalar('accelerator_pcie_throughput_bytes_per_second', 'Current PCIe throughput of the device, both directions together, bytes per second.', (d) => d.pcieBandwidthBytesPerSecond, { unit: 'bytes_per_second' }),
  keyed('accelerator_core_utilization_ratio', 'Busy fraction of one compute core of the device (AWS NeuronCore), 0..1, over the tool\'s last period.', 'core', (d) => d.coreUtilizationRatio ?? [], { unit: 'ratio' }),
];

/** Per-device reachability: 1 while read, 0 while the tool reports the device unreachable. */
export const DEVICE_UP_FAMILY: MetricFamily = {
  name: 'accelerator_device_up',
  help: 'Whether the device answers the vendor tool: 1 read this sample, 0 reported unreachable (fell off the bus, needs reset).',
  type: 'gauge',
  unit: '',
  labelNames: IDENTITY_LABELS,
  stability: 'stable',
  *samples(s) {
    const exported = exportedUuids(s);
    for (const h of s.health) yield { labels: identityValues(h.id, exported), value: h.up };
  },
};
