// How one neuron-monitor JSON report becomes DeviceSamples and processes.
// Pure, so it is tested directly against the captured stream.
//
// Devices are Neuron devices (/dev/neuron<N>), not NeuronCores: memory,
// ECC counters and processes belong to the device, and a NeuronCore is not
// separately allocatable hardware with its own identity. Device utilisation
// is the mean of its cores; each core's own value is on
// accelerator_core_utilization_ratio{core}. The report has no uuid or PCI
// address, so the uuid is `<instance id>-neuron<N>` (unique across a fleet)
// and pci_bus_id is empty.

import { emptyDevice, type DeviceSample, type ErrorType, type ProcessSample } from '../../model.ts';

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined;
}
function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

/** Older reports lack neuron_device_type; the instance family names the chip. */
const CHIP_BY_INSTANCE_FAMILY: Readonly<Record<string, string>> = {
  inf1: 'Inferentia',
  inf2: 'Inferentia2',
  trn1: 'Trainium',
  trn1n: 'Trainium',
  trn2: 'Trainium2',
};

export interface NeuronReading {
  readonly devices: DeviceSample[];
  readonly processes: ProcessSample[];
  /** Non-empty `error` texts the report carried (a section neuron-monitor could not read). */
  readonly errors: string[];
}

export function parseNeuronReport(report: unknown): NeuronReading {
  const root = obj(report) ?? {};
  const hw = obj(root.neuron_hardware_info) ?? {};
  const instance = obj(root.instance_info) ?? {};
  const errors: string[] = [];
  for (const section of [hw, instance]) {
    const e = str(section.error);
    if (e) errors.push(e);
  }
  const deviceCount = num(hw.neuron_device_count) ?? 0;
  const coresPerDevice = num(hw.neuroncore_per_device_count);
  const instanceId = str(instance.instance_id);
  const instanceType = str(instance.instance_type);
  const model = str(hw.neuron_device_type) ?? CHIP_BY_INSTANCE_FAMILY[instanceType?.split('.')[0] ?? ''] ?? '';
  const uuidOf = (i: number) => (instanceId ? `${instanceId}-neuron${i}` : `neuron${i}`);
  const deviceOfCore = (core: number) => (coresPerDevice ? Math.floor(core / coresPerDevice) : 0);

  // Per core: utilisation (percent) and memory; per (pid, device): memory.
  const coreUtil = new Map<number, number>();
  let anyCounters = false;
  const coreMemory = new Map<number, number>();
  const processes: ProcessSample[] = [];
  const runtimes = Array.isArray(root.neuron_runtime_data) ? root.neuron_runtime_data : [];
  for (const rt of runtimes.map(obj)) {
    if (!rt) continue;
    const e = str(rt.error);
    if (e) errors.push(e);
    const rep = obj(rt.report) ?? {};
    const counters = obj(obj(rep.neuroncore_counters)?.neuroncores_in_use);
    if (counters) {
      anyCounters = true;
      for (const [core, v] of Object.entries(counters)) {
        const u = num(obj(v)?.neuroncore_utilization);
        if (u !== undefined && /^\d+$/.test(core)) coreUtil.set(Number(core), (coreUtil.get(Number(core)) ?? 0) + u);
      }
    }
    const perCore = obj(obj(obj(obj(rep.memory_used)?.neuron_runtime_used_bytes)?.usage_breakdown)?.neuroncore_memory_usage);
    const perDevice = new Map<number, number>();
    for (const [core, parts] of Object.entries(perCore ?? {})) {
      if (!/^\d+$/.test(core)) continue;
      const bytes = Object.values(obj(parts) ?? {}).reduce<number>((sum, v) => sum + (num(v) ?? 0), 0);
      coreMemory.set(Number(core), (coreMemory.get(Number(core)) ?? 0) + bytes);
      const dev = deviceOfCore(Number(core));
      perDevice.set(dev, (perDevice.get(dev) ?? 0) + bytes);
    }
    const pid = num(rt.pid);
    if (pid !== undefined) {
      const name = str(rt.neuron_runtime_tag) ?? String(pid);
      for (const [dev, bytes] of perDevice) processes.push({ deviceUuid: uuidOf(dev), pid, name, memoryUsedBytes: bytes });
    }
  }

  const eccByDevice = new Map<number, Obj>();
  const hwCounters = obj(obj(root.system_data)?.neuron_hw_counters);
  for (const d of Array.isArray(hwCounters?.neuron_devices) ? hwCounters.neuron_devices : []) {
    const idx = num(obj(d)?.neuron_device_index);
    if (idx !== undefined) eccByDevice.set(idx, obj(d)!);
  }

  const devices: DeviceSample[] = [];
  for (let i = 0; i < deviceCount; i++) {
    const cores = coresPerDevice ? Array.from({ length: coresPerDevice }, (_, k) => i * coresPerDevice + k) : [];
    const ecc = eccByDevice.get(i);
    const errs: { key: ErrorType; value: number }[] = [];
    const corrected = num(ecc?.mem_ecc_corrected);
    if (corrected !== undefined) errs.push({ key: 'ecc_corrected', value: corrected });
    const uncorrected = num(ecc?.mem_ecc_uncorrected);
    if (uncorrected !== undefined) errs.push({ key: 'ecc_uncorrected', value: uncorrected });
    // Without any runtime's counters nothing says how busy the cores were: absent, not 0.
    const perCoreRatio = anyCounters ? cores.map((c) => ({ key: String(c), value: Math.min(coreUtil.get(c) ?? 0, 100) / 100 })) : [];
    const used = cores.some((c) => coreMemory.has(c)) ? cores.reduce((sum, c) => sum + (coreMemory.get(c) ?? 0), 0) : undefined;
    devices.push({
      ...emptyDevice({ vendor: 'aws', uuid: uuidOf(i), pciBusId: '', index: String(i), model }),
      utilizationRatio: perCoreRatio.length > 0 ? perCoreRatio.reduce((s, c) => s + c.value, 0) / perCoreRatio.length : undefined,
      coreUtilizationRatio: perCoreRatio,
      memoryUsedBytes: used,
      errors: errs,
    });
  }
  return { devices, processes, errors };
}
