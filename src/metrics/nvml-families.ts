// Device families only NVML answers (the nvml backend): interconnect byte
// counters, NVLink state and errors, PCIe replays, XID errors, and the GPM
// profiling metrics. Each profiling family names the dcgm-exporter field
// (DCGM_FI_PROF_*) it corresponds to, so dashboards can move.

import type { DeviceSample, ProfilingMetric } from '../model.ts';
import { deviceFamily, keyed, scalar } from './device-families.ts';
import type { MetricFamily } from './family.ts';

function profiling(name: string, help: string, key: ProfilingMetric): MetricFamily {
  return scalar(name, help, (d) => d.profiling?.[key], { unit: 'ratio' });
}

const PIPES: readonly (readonly [string, ProfilingMetric])[] = [
  ['fp64', 'fp64_active'],
  ['fp32', 'fp32_active'],
  ['fp16', 'fp16_active'],
];

const THROUGHPUT: readonly (readonly [string, string, ProfilingMetric])[] = [
  ['pcie', 'receive', 'pcie_receive_bytes_per_second'],
  ['pcie', 'transmit', 'pcie_transmit_bytes_per_second'],
  ['nvlink', 'receive', 'nvlink_receive_bytes_per_second'],
  ['nvlink', 'transmit', 'nvlink_transmit_bytes_per_second'],
];

export const NVML_DEVICE_FAMILIES: readonly MetricFamily[] = [
  deviceFamily({
    name: 'hw_gpu_io_bytes_total',
    help: 'Bytes the device moved over an interconnect since the driver loaded, by link type (pcie, nvlink: data bytes summed over the active links) and direction (receive, transmit). PCIe counters may wrap; rate() treats that as a reset.',
    type: 'counter',
    unit: 'bytes',
    otel: 'hw.gpu.io',
    extraLabels: ['link', 'direction'],
    *values(d) {
      for (const c of d.ioBytes ?? []) yield [[c.link, c.direction], c.bytes];
    },
  }),
  scalar('accelerator_pcie_replays_total', 'PCIe replays (link-level retransmissions after errors) since the driver loaded; a rising rate means a degraded link.', (d) => d.pcieReplays, { type: 'counter' }),
  keyed('accelerator_nvlink_up', 'State of an NVLink link: 1 active, 0 inactive.', 'nvlink', (d) => d.nvlinkUp ?? []),
  keyed('accelerator_nvlink_errors_total', 'NVLink errors summed over the device\'s links since the driver loaded, by type (crc_flit, crc_data, replay, recovery, ecc_data).', 'error_type', (d) => d.nvlinkErrors ?? [], {
    type: 'counter',
  }),
  deviceFamily({
    name: 'accelerator_xid_errors_total',
    help: 'Critical XID errors the driver reported since the exporter subscribed to them, by XID code (NVML nvmlEventTypeXidCriticalError; dcgm-exporter DCGM_FI_DEV_XID_ERRORS holds only the last code).',
    type: 'counter',
    extraLabels: ['xid'],
    *values(d: DeviceSample) {
      for (const x of d.xidErrors ?? []) yield [[x.xid], x.count];
    },
  }),
  deviceFamily({
    name: 'accelerator_xid_last_timestamp_seconds',
    help: 'When the exporter last received an XID error of this code from the device, Unix time in seconds.',
    unit: 'seconds',
    extraLabels: ['xid'],
    *values(d: DeviceSample) {
      for (const x of d.xidErrors ?? []) yield [[x.xid], x.lastSeconds];
    },
  }),
  profiling('accelerator_graphics_engine_active_ratio', 'Fraction of time the graphics or compute engine was active over the last interval (GPM; DCGM_FI_PROF_GR_ENGINE_ACTIVE).', 'graphics_active'),
  profiling('accelerator_sm_active_ratio', 'Fraction of SM time at least one warp was resident, averaged over all SMs, over the last interval (GPM; DCGM_FI_PROF_SM_ACTIVE). Unlike hw_gpu_utilization_ratio it tells one busy SM from a busy GPU.', 'sm_active'),
  profiling('accelerator_sm_occupancy_ratio', 'Resident warps as a fraction of the SMs\' maximum, over the last interval (GPM; DCGM_FI_PROF_SM_OCCUPANCY).', 'sm_occupancy'),
  profiling('accelerator_tensor_active_ratio', 'Fraction of time any tensor-core pipe was active over the last interval (GPM; DCGM_FI_PROF_PIPE_TENSOR_ACTIVE).', 'tensor_active'),
  deviceFamily({
    name: 'accelerator_pipe_active_ratio',
    help: 'Fraction of time a non-tensor floating-point pipe was active over the last interval, by pipe (GPM; fp64: DCGM_FI_PROF_PIPE_FP64_ACTIVE, fp32: DCGM_FI_PROF_PIPE_FP32_ACTIVE, fp16: DCGM_FI_PROF_PIPE_FP16_ACTIVE).',
    unit: 'ratio',
    extraLabels: ['pipe'],
    *values(d) {
      for (const [pipe, key] of PIPES) {
        const v = d.profiling?.[key];
        if (v !== undefined) yield [[pipe], v];
      }
    },
  }),
  profiling('accelerator_dram_active_ratio', 'Device memory bandwidth used as a fraction of the maximum, over the last interval (GPM; DCGM_FI_PROF_DRAM_ACTIVE).', 'dram_active'),
  deviceFamily({
    name: 'accelerator_interconnect_throughput_bytes_per_second',
    help: 'Interconnect bandwidth over the last interval, by link type and direction (GPM; pcie: DCGM_FI_PROF_PCIE_RX_BYTES/PCIE_TX_BYTES, nvlink: DCGM_FI_PROF_NVLINK_RX_BYTES/NVLINK_TX_BYTES).',
    unit: 'bytes_per_second',
    extraLabels: ['link', 'direction'],
    *values(d) {
      for (const [link, direction, key] of THROUGHPUT) {
        const v = d.profiling?.[key];
        if (v !== undefined) yield [[link, direction], v];
      }
    },
  }),
];
