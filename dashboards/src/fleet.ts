// Fleet: the whole cluster's accelerators at a glance, by node and model.

import type { DashboardSpec } from './grafana.ts';
import { hideColumns } from './grafana.ts';
import { allocatedIdle, BUSY_THRESHOLDS, DEV, DEV_OR_UNKNOWN, PHYSICAL, missingOrLost, PERCENT } from './promql.ts';


// Every panel that sums over the fleet reads the per-node, vendor and model
// recording rules of accelerator-exporter.fleet.rules (alerts/accelerator.rules.yaml);
// only the tables listing single devices read device series, as instant queries.
const rec = (name: string, extra = '') => `node_vendor_model${extra ? '_sensor' : ''}:${name}{${DEV}${extra}}`;
const ratio = (by: string, num: string, den: string) => `sum by (${by}) (${rec(num)}) / sum by (${by}) (${rec(den)})`;

export const fleet: DashboardSpec = {
  uid: 'accelerator-fleet',
  title: 'Accelerators / Fleet',
  description: 'Utilisation, memory, allocation, power, temperature and health of every accelerator, by node and model.',
  tags: ['fleet'],
  variables: [
    { name: 'node', label: 'Node', query: 'label_values(accelerator_info, node)' },
    { name: 'vendor', label: 'Vendor', query: 'label_values(accelerator_info{node=~"$node"}, vendor)' },
    { name: 'model', label: 'Model', query: 'label_values(accelerator_info{node=~"$node", vendor=~"$vendor"}, model)' },
  ],
  rows: [
    {
      row: 'Overview',
      panels: [
        { type: 'stat', title: 'Accelerators', w: 3, h: 4, targets: [{ expr: `sum(${rec('accelerator_devices:count')})` }] },
        { type: 'stat', title: 'Answering', w: 3, h: 4, targets: [{ expr: `sum(${rec('accelerator_devices_up:sum')})` }] },
        {
          type: 'stat',
          title: 'Missing or lost',
          description: 'Devices seen in the last 6 hours that do not answer their vendor tool now.',
          w: 3,
          h: 4,
          thresholds: [{ value: null, color: 'green' }, { value: 1, color: 'red' }],
          targets: [{ expr: `count(${missingOrLost(DEV_OR_UNKNOWN)}) or vector(0)` }],
        },
        {
          type: 'stat',
          title: 'Allocated',
          description: 'Devices allocated to at least one pod (device plugin or DRA).',
          w: 3,
          h: 4,
          targets: [{ expr: `sum(${rec('accelerator_allocated_devices:count')}) or vector(0)` }],
        },
        {
          type: 'stat',
          title: 'Allocated but idle',
          description: 'Allocated devices never above 5% busy in the last 30 minutes.',
          w: 3,
          h: 4,
          thresholds: [{ value: null, color: 'green' }, { value: 1, color: 'orange' }],
          targets: [{ expr: `sum(${rec('accelerator_allocated_idle_devices:count')}) or vector(0)` }],
        },
        { type: 'stat', title: 'Mean utilisation', w: 3, h: 4, ...PERCENT, thresholds: BUSY_THRESHOLDS, targets: [{ expr: `sum(${rec('hw_gpu_utilization_ratio:sum')}) / sum(${rec('hw_gpu_utilization_ratio:count')})` }] },
        { type: 'stat', title: 'Power now', w: 3, h: 4, unit: 'watt', targets: [{ expr: `sum(${rec('hw_power_watts:sum')})` }] },
        {
          type: 'gauge',
          title: 'Memory used',
          w: 3,
          h: 4,
          ...PERCENT,
          thresholds: [{ value: null, color: 'green' }, { value: 0.8, color: 'orange' }, { value: 0.95, color: 'red' }],
          targets: [{ expr: `sum(${rec('hw_gpu_memory_usage_bytes:sum')}) / sum(${rec('hw_gpu_memory_limit_bytes:sum')})` }],
        },
      ],
    },
    {
      row: 'Utilisation and memory',
      panels: [
        { type: 'timeseries', title: 'Utilisation by node', ...PERCENT, targets: [{ expr: ratio('node', 'hw_gpu_utilization_ratio:sum', 'hw_gpu_utilization_ratio:count'), legend: '{{node}}' }] },
        { type: 'timeseries', title: 'Utilisation by model', ...PERCENT, targets: [{ expr: ratio('vendor, model', 'hw_gpu_utilization_ratio:sum', 'hw_gpu_utilization_ratio:count'), legend: '{{model}}' }] },
        { type: 'timeseries', title: 'Memory used by node', unit: 'bytes', targets: [{ expr: `sum by (node) (${rec('hw_gpu_memory_usage_bytes:sum')})`, legend: '{{node}}' }] },
        {
          type: 'bargauge',
          title: 'Memory used by model',
          ...PERCENT,
          targets: [{ expr: ratio('model', 'hw_gpu_memory_usage_bytes:sum', 'hw_gpu_memory_limit_bytes:sum'), legend: '{{model}}', instant: true }],
        },
      ],
    },
    {
      row: 'Allocation',
      panels: [
        {
          type: 'timeseries',
          title: 'Allocated versus idle accelerators',
          description: 'Allocated: held by a pod. Allocated but idle: held and never above 5% busy in the last 30 minutes. Free: answering and held by no pod.',
          targets: [
            { expr: `sum(${rec('accelerator_allocated_devices:count')})`, legend: 'allocated' },
            { expr: `sum(${rec('accelerator_allocated_idle_devices:count')})`, legend: 'allocated but idle' },
            { expr: `sum(${rec('accelerator_free_devices:count')}) or vector(0)`, legend: 'free' },
          ],
        },
        {
          type: 'table',
          title: 'Allocated but idle (under 5% busy for 30 minutes)',
          targets: [{ expr: allocatedIdle(DEV), instant: true }],
          transformations: [hideColumns('Value')],
        },
      ],
    },
    {
      row: 'Power, energy and temperature',
      panels: [
        { type: 'timeseries', title: 'Power by node', w: 8, unit: 'watt', targets: [{ expr: `sum by (node) (${rec('hw_power_watts:sum')})`, legend: '{{node}}' }] },
        {
          type: 'timeseries',
          title: 'Power as a share of the limit',
          w: 8,
          ...PERCENT,
          targets: [{ expr: ratio('node', 'hw_power_watts:sum', 'accelerator_power_limit_watts:sum'), legend: '{{node}}' }],
        },
        {
          type: 'bargauge',
          title: 'Energy over the time range',
          description: "From the device's energy counter; for devices without one (NVIDIA through nvidia-smi), mean power times the range.",
          w: 8,
          unit: 'joule',
          targets: [
            {
              // Nodes whose devices count energy, else the node's mean power times the range.
              expr: `sum by (node) (increase(hw_energy_joules_total{${PHYSICAL}}[$__range])) or on (node) sum by (node) (avg_over_time(${rec('hw_power_watts:sum')}[$__range])) * $__range_s`,
              legend: '{{node}}',
              instant: true,
            },
          ],
        },
        { type: 'timeseries', title: 'Hottest core by node', w: 12, unit: 'celsius', targets: [{ expr: `max by (node) (${rec('hw_temperature_celsius:max', ', sensor="gpu"')})`, legend: '{{node}}' }] },
        { type: 'timeseries', title: 'Hottest memory by node', w: 12, unit: 'celsius', targets: [{ expr: `max by (node) (${rec('hw_temperature_celsius:max', ', sensor="memory"')})`, legend: '{{node}}' }] },
      ],
    },
    {
      row: 'Health',
      panels: [
        {
          type: 'table',
          title: 'Devices missing or lost',
          description: 'Seen in the last 6 hours; not answering now. A device lost before it was ever read has only its PCI address.',
          w: 12,
          targets: [{ expr: missingOrLost(DEV_OR_UNKNOWN), instant: true }],
          transformations: [hideColumns('Value')],
        },
        {
          type: 'table',
          title: 'Devices needing attention',
          description: 'Recovery action requested by the driver, row remapping pending or failed.',
          w: 12,
          targets: [
            {
              expr: `max by (node, uuid, model) (accelerator_recovery_action{${PHYSICAL}} > 0 or accelerator_remapped_rows_pending{${PHYSICAL}} == 1 or accelerator_remapped_rows_failure{${PHYSICAL}} == 1 or accelerator_device_up{${DEV_OR_UNKNOWN}} == 0)`,
              instant: true,
            },
          ],
          transformations: [hideColumns('Value')],
        },
        {
          type: 'table',
          title: 'Errors over the time range',
          w: 24,
          targets: [{ expr: `sum by (node, uuid, model, error_type) (increase(hw_errors_total{${PHYSICAL}}[$__range]))`, instant: true }],
          transformations: [hideColumns()],
        },
      ],
    },
  ],
};
