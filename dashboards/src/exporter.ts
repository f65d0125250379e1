// Exporter health: is every node's exporter scraped, are its backends
// sampling, how old and how slow are the samples, does attribution work.

import type { DashboardSpec } from './grafana.ts';
import { hideColumns, MERGE } from './grafana.ts';

const E = 'job=~"$job", node=~"$node"';

export const exporter: DashboardSpec = {
  uid: 'accelerator-exporter-health',
  title: 'Accelerators / Exporter health',
  description: 'accelerator-exporter itself: scrape status, backend states, sample age and duration, failures, and workload attribution health.',
  tags: ['exporter'],
  time: 'now-3h',
  variables: [
    { name: 'job', label: 'Job', query: 'label_values(accelerator_exporter_build_info, job)' },
    { name: 'node', label: 'Node', query: 'label_values(accelerator_exporter_build_info{job=~"$job"}, node)' },
  ],
  rows: [
    {
      row: 'Scrape and backends',
      panels: [
        { type: 'stat', title: 'Exporters scraped', w: 4, h: 4, targets: [{ expr: `sum(up{${E}})` }] },
        {
          type: 'stat',
          title: 'Exporters down',
          w: 4,
          h: 4,
          thresholds: [{ value: null, color: 'green' }, { value: 1, color: 'red' }],
          targets: [{ expr: `count(up{${E}} == 0) or vector(0)` }],
        },
        {
          type: 'stat',
          title: 'Backends failing',
          w: 4,
          h: 4,
          thresholds: [{ value: null, color: 'green' }, { value: 1, color: 'red' }],
          targets: [{ expr: `count(accelerator_exporter_backend_state{${E}, state="failed"} == 1) or vector(0)` }],
        },
        {
          type: 'state-timeline',
          title: 'Backend state',
          description: 'ok; no data (tool or devices absent: not a failure); failed.',
          w: 12,
          h: 8,
          mappings: [
            {
              type: 'value',
              options: { '0': { text: 'ok', color: 'green', index: 0 }, '1': { text: 'no data', color: 'text', index: 1 }, '2': { text: 'failed', color: 'red', index: 2 } },
            },
          ],
          targets: [
            {
              expr: `max by (node, backend) ((accelerator_exporter_backend_state{${E}, state="ok"} == 1) * 0 or (accelerator_exporter_backend_state{${E}, state="no_data"} == 1) or (accelerator_exporter_backend_state{${E}, state="failed"} == 1) * 2)`,
              legend: '{{node}} {{backend}}',
            },
          ],
        },
        {
          type: 'table',
          title: 'Backends',
          w: 12,
          targets: [
            { expr: `accelerator_exporter_backend_devices{${E}}`, instant: true },
            { expr: `accelerator_exporter_backend_last_sample_age_seconds{${E}}`, instant: true },
            { expr: `accelerator_exporter_backend_last_sample_duration_seconds{${E}}`, instant: true },
            { expr: `accelerator_exporter_backend_serving_last_good{${E}}`, instant: true },
          ],
          transformations: [MERGE, hideColumns()],
          overrides: [
            ['A', 'devices', 'short'],
            ['B', 'sample age', 's'],
            ['C', 'sample duration', 's'],
            ['D', 'serving last good', 'short'],
          ].map(([ref, name, unit]) => ({ matcher: { id: 'byName', options: `Value #${ref}` }, properties: [{ id: 'displayName', value: name }, { id: 'unit', value: unit }] })),
        },
      ],
    },
    {
      row: 'Samples',
      panels: [
        { type: 'timeseries', title: 'Sample age', w: 8, unit: 's', targets: [{ expr: `accelerator_exporter_backend_last_sample_age_seconds{${E}}`, legend: '{{node}} {{backend}}' }] },
        { type: 'timeseries', title: 'Sample duration', w: 8, unit: 's', targets: [{ expr: `accelerator_exporter_backend_last_sample_duration_seconds{${E}}`, legend: '{{node}} {{backend}}' }] },
        {
          type: 'timeseries',
          title: 'Failures by reason',
          w: 8,
          unit: 'ops',
          targets: [{ expr: `sum by (node, backend, reason) (rate(accelerator_exporter_backend_failures_total{${E}}[$__rate_interval]))`, legend: '{{node}} {{backend}} {{reason}}' }],
        },
        { type: 'timeseries', title: 'Vendor tool starts', w: 8, unit: 'ops', targets: [{ expr: `rate(accelerator_exporter_tool_starts_total{${E}}[$__rate_interval])`, legend: '{{node}} {{backend}}' }] },
        { type: 'timeseries', title: 'Devices per backend', w: 8, targets: [{ expr: `accelerator_exporter_backend_devices{${E}}`, legend: '{{node}} {{backend}}' }] },
        {
          type: 'timeseries',
          title: 'Exporter CPU and memory',
          w: 8,
          unit: 'bytes',
          targets: [
            { expr: `process_resident_memory_bytes{${E}}`, legend: '{{node}} resident memory' },
            { expr: `rate(process_cpu_seconds_total{${E}}[$__rate_interval])`, legend: '{{node}} CPU (cores)' },
          ],
          overrides: [{ matcher: { id: 'byRegexp', options: '.*CPU.*' }, properties: [{ id: 'unit', value: 'short' }, { id: 'custom.axisPlacement', value: 'right' }] }],
        },
      ],
    },
    {
      row: 'Workload attribution',
      panels: [
        {
          type: 'state-timeline',
          title: 'Kubelet PodResources and Kubernetes API reachable',
          description: 'The Kubernetes API row is absent on nodes whose exporter runs without API access.',
          w: 12,
          mappings: [{ type: 'value', options: { '0': { text: 'unreachable', color: 'red', index: 0 }, '1': { text: 'ok', color: 'green', index: 1 } } }],
          targets: [
            { expr: `accelerator_exporter_kubelet_up{${E}}`, legend: '{{node}} kubelet' },
            { expr: `accelerator_exporter_kubernetes_api_up{${E}}`, legend: '{{node}} API' },
          ],
        },
        {
          type: 'timeseries',
          title: 'Allocations without a device, devices without a pod, processes without a container',
          description: 'Unresolved allocations point at an id mismatch between the kubelet and the vendor tool, or a DRA device no ResourceSlice locates; unattributed processes run outside pods (host), exited or cannot be read without hostPID (no_cgroup), or belong to a pod the exporter does not know (unknown_pod).',
          w: 12,
          targets: [
            { expr: `accelerator_exporter_unresolved_allocations{${E}}`, legend: '{{node}} unresolved allocations' },
            { expr: `accelerator_exporter_unattributed_devices{${E}}`, legend: '{{node}} unallocated devices' },
            { expr: `accelerator_exporter_unattributed_processes{${E}}`, legend: '{{node}} unattributed processes ({{reason}})' },
          ],
        },
        { type: 'table', title: 'Build', w: 24, h: 5, targets: [{ expr: `accelerator_exporter_build_info{${E}}`, instant: true }], transformations: [hideColumns('Value')] },
      ],
    },
  ],
};
