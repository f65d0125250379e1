// Node and device: one node's accelerators side by side.

import type { DashboardSpec } from './grafana.ts';
import { hideColumns, MERGE } from './grafana.ts';
import { DEV, PERCENT } from './promql.ts';

const LEGEND = '{{gpu}} {{uuid}}';
const GPM_ONLY = 'GPM profiling comes from the nvml backend on Hopper or newer; the test devices are read through nvidia-smi';
const NVML_ONLY = 'interconnect byte counters come from the nvml backend; the test devices are read through nvidia-smi';

const STATE_MAPPINGS = [{ type: 'value', options: { '0': { text: 'inactive', color: 'transparent', index: 0 }, '1': { text: 'active', color: 'orange', index: 1 } } }];

export const node: DashboardSpec = {
  uid: 'accelerator-node',
  title: 'Accelerators / Node and device',
  description: "One node's accelerators side by side: utilisation, memory, clocks and the reasons they are held down, PCIe link, processes and memory health.",
  tags: ['node'],
  time: 'now-1h',
  variables: [
    { name: 'node', label: 'Node', query: 'label_values(accelerator_info, node)', multi: false },
    { name: 'vendor', label: 'Vendor', query: 'label_values(accelerator_info{node=~"$node"}, vendor)' },
    { name: 'model', label: 'Model', query: 'label_values(accelerator_info{node=~"$node", vendor=~"$vendor"}, model)' },
  ],
  rows: [
    {
      row: 'Devices',
      panels: [
        {
          type: 'table',
          title: 'Devices',
          w: 24,
          h: 6,
          targets: [{ expr: `accelerator_info{${DEV}}`, instant: true }],
          transformations: [hideColumns('Value', 'node')],
        },
      ],
    },
    {
      row: 'Utilisation and memory',
      panels: [
        { type: 'timeseries', title: 'Utilisation', w: 8, ...PERCENT, targets: [{ expr: `hw_gpu_utilization_ratio{${DEV}}`, legend: LEGEND }] },
        { type: 'timeseries', title: 'Memory controller utilisation', w: 8, ...PERCENT, targets: [{ expr: `accelerator_memory_controller_utilization_ratio{${DEV}}`, legend: LEGEND }] },
        { type: 'timeseries', title: 'Engine utilisation', w: 8, ...PERCENT, targets: [{ expr: `accelerator_engine_utilization_ratio{${DEV}}`, legend: '{{gpu}} {{engine}}' }] },
        {
          type: 'timeseries',
          title: 'Memory used',
          w: 12,
          unit: 'bytes',
          targets: [
            { expr: `hw_gpu_memory_usage_bytes{${DEV}}`, legend: `${LEGEND} used` },
            { expr: `hw_gpu_memory_limit_bytes{${DEV}}`, legend: `${LEGEND} size` },
          ],
        },
        {
          type: 'bargauge',
          title: 'Memory used now',
          w: 12,
          ...PERCENT,
          thresholds: [{ value: null, color: 'green' }, { value: 0.8, color: 'orange' }, { value: 0.95, color: 'red' }],
          targets: [{ expr: `hw_gpu_memory_usage_bytes{${DEV}} / hw_gpu_memory_limit_bytes{${DEV}}`, legend: LEGEND, instant: true }],
        },
      ],
    },
    {
      row: 'Power and temperature',
      panels: [
        {
          type: 'timeseries',
          title: 'Power',
          w: 8,
          unit: 'watt',
          targets: [
            { expr: `hw_power_watts{${DEV}}`, legend: `${LEGEND} draw` },
            { expr: `accelerator_power_limit_watts{${DEV}}`, legend: `${LEGEND} limit` },
          ],
        },
        { type: 'timeseries', title: 'Temperature', w: 8, unit: 'celsius', targets: [{ expr: `hw_temperature_celsius{${DEV}}`, legend: '{{gpu}} {{sensor}}' }] },
        {
          type: 'timeseries',
          title: 'Fan speed',
          w: 8,
          ...PERCENT,
          targets: [{ expr: `accelerator_fan_speed_ratio{${DEV}}`, legend: LEGEND, emptyOnTestDevices: 'data-centre GPUs (the H100 captures) have no fan of their own' }],
        },
      ],
    },
    {
      row: 'Clocks and throttling',
      panels: [
        { type: 'timeseries', title: 'Clocks', w: 8, unit: 'hertz', targets: [{ expr: `accelerator_clock_hertz{${DEV}, clock=~"sm|memory"}`, legend: '{{gpu}} {{clock}}' }] },
        {
          type: 'timeseries',
          title: 'Clocks as a share of their maximum',
          w: 8,
          ...PERCENT,
          targets: [{ expr: `accelerator_clock_hertz{${DEV}} / accelerator_clock_max_hertz{${DEV}}`, legend: '{{gpu}} {{clock}}' }],
        },
        {
          type: 'stat',
          title: 'Performance state',
          description: 'P0 is maximum performance, P15 minimum.',
          w: 8,
          mappings: [{ type: 'range', options: { from: 0, to: 15, result: { text: 'P${__value.raw}' } } }],
          targets: [{ expr: `accelerator_performance_state{${DEV}}`, legend: '{{gpu}}' }],
        },
        {
          type: 'state-timeline',
          title: 'Clock event reasons (throttling)',
          description: 'Which reasons hold the clocks down, per device. gpu_idle is not a problem; thermal, power brake and hardware slowdown are.',
          w: 12,
          h: 10,
          mappings: STATE_MAPPINGS,
          targets: [{ expr: `accelerator_clock_event_active{${DEV}}`, legend: '{{gpu}} {{reason}}' }],
        },
        {
          type: 'timeseries',
          title: 'Share of time held down, by reason',
          w: 12,
          h: 10,
          ...PERCENT,
          targets: [{ expr: `rate(accelerator_clock_event_seconds_total{${DEV}}[$__rate_interval])`, legend: '{{gpu}} {{reason}}' }],
        },
      ],
    },
    {
      row: 'Profiling (NVML GPM, Hopper and newer)',
      panels: [
        {
          type: 'timeseries',
          title: 'SM activity against utilisation',
          description: 'Utilisation counts time with any kernel running; SM activity is the share of SMs busy (DCGM_FI_PROF_SM_ACTIVE). A GPU at 100% utilisation and 10% SM activity is mostly idle.',
          w: 8,
          ...PERCENT,
          targets: [
            { expr: `hw_gpu_utilization_ratio{${DEV}}`, legend: '{{gpu}} utilisation' },
            { expr: `accelerator_sm_active_ratio{${DEV}}`, legend: '{{gpu}} SM active', emptyOnTestDevices: GPM_ONLY },
          ],
        },
        {
          type: 'timeseries',
          title: 'Tensor core activity',
          description: 'Share of time any tensor pipe was busy (DCGM_FI_PROF_PIPE_TENSOR_ACTIVE).',
          w: 8,
          ...PERCENT,
          targets: [{ expr: `accelerator_tensor_active_ratio{${DEV}}`, legend: LEGEND, emptyOnTestDevices: GPM_ONLY }],
        },
        {
          type: 'timeseries',
          title: 'DRAM bandwidth used',
          description: 'Memory bandwidth as a share of its maximum (DCGM_FI_PROF_DRAM_ACTIVE).',
          w: 8,
          ...PERCENT,
          targets: [{ expr: `accelerator_dram_active_ratio{${DEV}}`, legend: LEGEND, emptyOnTestDevices: GPM_ONLY }],
        },
        {
          type: 'timeseries',
          title: 'Interconnect traffic',
          description: 'Bytes per second over PCIe and NVLink, from the NVML byte counters.',
          w: 12,
          unit: 'Bps',
          targets: [{ expr: `rate(hw_gpu_io_bytes_total{${DEV}}[5m])`, legend: '{{gpu}} {{link}} {{direction}}', emptyOnTestDevices: NVML_ONLY }],
        },
        {
          type: 'table',
          title: 'XID errors in the last 24 hours',
          description: 'Critical XID events from the driver, by code; the runbook lists what each code asks for.',
          w: 12,
          targets: [{ expr: `increase(accelerator_xid_errors_total{${DEV}}[24h]) > 0`, instant: true, emptyOnTestDevices: 'no XID happens on the test devices' }],
          transformations: [hideColumns('node', 'vendor', 'pci_bus_id', 'parent_uuid')],
        },
      ],
    },
    {
      row: 'PCIe and processes',
      panels: [
        {
          type: 'table',
          title: 'PCIe link',
          description: 'A link below its generation or width (after a reseat or a riser fault) halves transfer rates.',
          w: 12,
          targets: [
            { expr: `accelerator_pcie_link_generation{${DEV}}`, instant: true },
            { expr: `accelerator_pcie_link_width{${DEV}}`, instant: true },
          ],
          transformations: [MERGE, hideColumns('node', 'vendor')],
          overrides: [
            { matcher: { id: 'byName', options: 'Value #A' }, properties: [{ id: 'displayName', value: 'generation' }] },
            { matcher: { id: 'byName', options: 'Value #B' }, properties: [{ id: 'displayName', value: 'lanes' }] },
          ],
        },
        { type: 'timeseries', title: 'Compute processes', w: 12, targets: [{ expr: `accelerator_processes{${DEV}}`, legend: LEGEND }] },
        {
          type: 'table',
          title: 'Pods on these devices',
          w: 24,
          targets: [{ expr: `accelerator_allocation_info{node=~"$node"} * on (node, uuid) group_left (gpu, model) max by (node, uuid, gpu, model) (accelerator_info{${DEV}})`, instant: true }],
          transformations: [hideColumns('Value')],
        },
      ],
    },
    {
      row: 'Memory health',
      panels: [
        {
          type: 'table',
          title: 'Memory health',
          description: 'Uncorrected errors since the driver loaded, remapped rows, and whether a remap is pending (reset needed) or failed (RMA).',
          w: 24,
          targets: [
            { expr: `hw_errors_total{${DEV}, error_type="ecc_uncorrected"}`, instant: true },
            { expr: `sum by (node, uuid, gpu) (accelerator_remapped_rows{${DEV}})`, instant: true },
            { expr: `accelerator_remapped_rows_pending{${DEV}}`, instant: true },
            { expr: `accelerator_remapped_rows_failure{${DEV}}`, instant: true },
            { expr: `accelerator_recovery_action{${DEV}}`, instant: true },
            { expr: `accelerator_retired_pages{${DEV}}`, instant: true, emptyOnTestDevices: 'page retirement is pre-Ampere; the H100 remaps rows instead' },
          ],
          transformations: [MERGE, hideColumns('node', 'vendor', 'model', 'pci_bus_id', 'error_type')],
          overrides: [
            ['A', 'uncorrected ECC errors'],
            ['B', 'remapped rows'],
            ['C', 'remap pending'],
            ['D', 'remap failed'],
            ['E', 'recovery action'],
            ['F', 'retired pages'],
          ].map(([ref, name]) => ({ matcher: { id: 'byName', options: `Value #${ref}` }, properties: [{ id: 'displayName', value: name }] })),
        },
      ],
    },
  ],
};
