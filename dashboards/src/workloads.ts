// Workloads: accelerators by namespace, pod and container, DRA claims and
// devices shared between pods.

import type { DashboardSpec } from './grafana.ts';
import { hideColumns, MERGE } from './grafana.ts';
import { allocatedIdle, PERCENT, shared } from './promql.ts';

const W = 'node=~"$node", namespace=~"$namespace"';

export const workloads: DashboardSpec = {
  uid: 'accelerator-workloads',
  title: 'Accelerators / Workloads',
  description: 'Accelerator use by namespace, pod and container; DRA claims; devices shared between pods.',
  tags: ['workloads'],
  variables: [
    { name: 'node', label: 'Node', query: 'label_values(accelerator_allocation_info, node)' },
    { name: 'namespace', label: 'Namespace', query: 'label_values(accelerator_allocation_info{node=~"$node"}, namespace)' },
  ],
  rows: [
    {
      row: 'Overview',
      panels: [
        { type: 'stat', title: 'Pods using accelerators', w: 6, h: 4, targets: [{ expr: `count(count by (namespace, pod) (accelerator_allocation_info{${W}})) or vector(0)` }] },
        { type: 'stat', title: 'Allocated devices', w: 6, h: 4, targets: [{ expr: `count(count by (node, uuid) (accelerator_allocation_info{${W}})) or vector(0)` }] },
        { type: 'stat', title: 'Shared devices', description: 'Devices held by more than one pod (time-slicing, MPS, shared DRA claims).', w: 6, h: 4, targets: [{ expr: `count(${shared(W)}) or vector(0)` }] },
        {
          type: 'stat',
          title: 'Allocated but idle',
          w: 6,
          h: 4,
          thresholds: [{ value: null, color: 'green' }, { value: 1, color: 'orange' }],
          targets: [{ expr: `count(${allocatedIdle(W)}) or vector(0)` }],
        },
      ],
    },
    {
      row: 'By namespace',
      panels: [
        { type: 'timeseries', title: 'Utilisation by namespace', w: 8, ...PERCENT, targets: [{ expr: 'namespace:accelerator_utilization:avg{namespace=~"$namespace"}', legend: '{{namespace}}' }] },
        { type: 'timeseries', title: 'Memory by namespace', w: 8, unit: 'bytes', targets: [{ expr: 'namespace:accelerator_memory_usage_bytes:sum{namespace=~"$namespace"}', legend: '{{namespace}}' }] },
        { type: 'timeseries', title: 'Devices by namespace', w: 8, targets: [{ expr: 'namespace:accelerator_allocated_devices:count{namespace=~"$namespace"}', legend: '{{namespace}}' }] },
      ],
    },
    {
      row: 'By pod and container',
      panels: [
        { type: 'timeseries', title: 'Utilisation by pod', ...PERCENT, targets: [{ expr: 'namespace_pod:accelerator_utilization:avg{namespace=~"$namespace"}', legend: '{{namespace}}/{{pod}}' }] },
        { type: 'timeseries', title: 'Memory by pod', unit: 'bytes', targets: [{ expr: 'namespace_pod:accelerator_memory_usage_bytes:sum{namespace=~"$namespace"}', legend: '{{namespace}}/{{pod}}' }] },
        {
          type: 'table',
          title: 'Containers',
          w: 24,
          targets: [
            { expr: `accelerator_container_utilization_ratio{${W}}`, instant: true },
            { expr: `accelerator_container_memory_usage_bytes{${W}}`, instant: true },
          ],
          transformations: [MERGE, hideColumns()],
          overrides: [
            { matcher: { id: 'byName', options: 'Value #A' }, properties: [{ id: 'displayName', value: 'utilisation' }, { id: 'unit', value: 'percentunit' }] },
            { matcher: { id: 'byName', options: 'Value #B' }, properties: [{ id: 'displayName', value: 'memory' }, { id: 'unit', value: 'bytes' }] },
          ],
        },
      ],
    },
    {
      row: 'DRA claims and shared devices',
      panels: [
        {
          type: 'table',
          title: 'DRA claims',
          description: 'Devices allocated through Dynamic Resource Allocation: the claim, the driver, pool and device that satisfied it.',
          w: 24,
          targets: [{ expr: `accelerator_allocation_info{${W}, claim!=""}`, instant: true }],
          transformations: [hideColumns('Value', 'resource')],
        },
        {
          type: 'table',
          title: 'Shared devices and their pods',
          w: 12,
          targets: [{ expr: `accelerator_allocation_info{${W}} and on (node, uuid) (${shared(W)})`, instant: true }],
          transformations: [hideColumns('Value', 'claim_namespace', 'claim', 'dra_driver', 'dra_pool', 'dra_device')],
        },
        {
          type: 'bargauge',
          title: 'Memory per pod on shared devices',
          w: 12,
          unit: 'bytes',
          targets: [
            { expr: `sum by (node, uuid, namespace, pod) (accelerator_container_memory_usage_bytes{${W}}) and on (node, uuid) (${shared(W)})`, legend: '{{uuid}} {{namespace}}/{{pod}}', instant: true },
          ],
        },
        {
          type: 'table',
          title: 'Allocated but idle (under 5% busy for 30 minutes)',
          w: 24,
          targets: [{ expr: allocatedIdle(W), instant: true }],
          transformations: [hideColumns('Value')],
        },
      ],
    },
  ],
};
