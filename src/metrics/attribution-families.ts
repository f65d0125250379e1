// Pod/container/claim attribution families. Device series keep their own
// identity labels; the Kubernetes labels live only here, joined on uuid.
// Every family is empty when attribution is off (no `attribution` part).

import { UNATTRIBUTED_REASONS } from '../attribution/view.ts';
import type { ExportedSnapshot as Snapshot } from '../store.ts';
import type { MetricFamily } from './family.ts';

const CONTAINER_LABELS = ['namespace', 'pod', 'container', 'uuid'] as const;

export const ATTRIBUTION_FAMILIES: readonly MetricFamily[] = [
  {
    name: 'accelerator_allocation_info',
    help: 'A device allocated to a container; always 1. Device-plugin allocations set resource, DRA allocations the claim_* and dra_* labels. uuid is the device the backends read, the plugin\'s id when none matches, empty for a DRA device no ResourceSlice locates.',
    type: 'gauge',
    unit: '',
    labelNames: ['uuid', 'namespace', 'pod', 'container', 'resource', 'claim_namespace', 'claim', 'dra_driver', 'dra_pool', 'dra_device'],
    stability: 'alpha',
    *samples(s: Snapshot) {
      for (const a of s.attribution?.allocations ?? []) yield { labels: [a.uuid, a.namespace, a.pod, a.container, a.resource, a.claimNamespace, a.claim, a.draDriver, a.draPool, a.draDevice], value: 1 };
    },
  },
  {
    name: 'accelerator_container_memory_usage_bytes',
    help: 'Device memory used by a container\'s processes on a device, the sum of the per-process memory the vendor tool lists: correct per container when containers share a device.',
    type: 'gauge',
    unit: 'bytes',
    labelNames: CONTAINER_LABELS,
    stability: 'alpha',
    *samples(s: Snapshot) {
      for (const c of s.attribution?.containers ?? []) if (c.memoryUsedBytes !== undefined) yield { labels: [c.namespace, c.pod, c.container, c.uuid], value: c.memoryUsedBytes };
    },
  },
  {
    name: 'accelerator_container_utilization_ratio',
    help: 'Utilisation of a device held by this container alone (0..1), with no host or other pod\'s process on it. Absent for a shared device: there is no per-process utilisation source, and the device value is not the container\'s.',
    type: 'gauge',
    unit: 'ratio',
    labelNames: CONTAINER_LABELS,
    stability: 'alpha',
    *samples(s: Snapshot) {
      for (const c of s.attribution?.containers ?? []) if (c.utilizationRatio !== undefined) yield { labels: [c.namespace, c.pod, c.container, c.uuid], value: c.utilizationRatio };
    },
  },
  {
    name: 'accelerator_exporter_kubelet_up',
    help: 'The kubelet PodResources API answered the last List: 1 yes, 0 no (attribution is empty meanwhile).',
    type: 'gauge',
    unit: '',
    labelNames: [],
    stability: 'alpha',
    *samples(s: Snapshot) {
      if (s.attribution) yield { labels: [], value: s.attribution.kubeletUp ? 1 : 0 };
    },
  },
  {
    name: 'accelerator_exporter_kubernetes_api_up',
    help: 'Every Kubernetes API list/watch (pods, ResourceSlices, ResourceClaims) is synced: 1 yes, 0 no. Absent when no API access is configured.',
    type: 'gauge',
    unit: '',
    labelNames: [],
    stability: 'alpha',
    *samples(s: Snapshot) {
      if (s.attribution?.apiUp !== undefined) yield { labels: [], value: s.attribution.apiUp ? 1 : 0 };
    },
  },
  {
    name: 'accelerator_exporter_attribution_last_refresh_timestamp_seconds',
    help: 'Unix time of the last successful kubelet PodResources List.',
    type: 'gauge',
    unit: 'seconds',
    labelNames: [],
    stability: 'alpha',
    *samples(s: Snapshot) {
      if (s.attribution?.lastRefreshMs !== undefined) yield { labels: [], value: s.attribution.lastRefreshMs / 1000 };
    },
  },
  {
    name: 'accelerator_exporter_unattributed_devices',
    help: 'Devices read by the backends that no container holds (idle, or used outside Kubernetes).',
    type: 'gauge',
    unit: '',
    labelNames: [],
    stability: 'alpha',
    *samples(s: Snapshot) {
      if (s.attribution) yield { labels: [], value: s.attribution.unattributedDevices };
    },
  },
  {
    name: 'accelerator_exporter_unattributed_processes',
    help: 'Device processes not attributed to a container, by reason: host (not in a pod cgroup), no_cgroup (exited, or no hostPID to read /proc/<pid>/cgroup), unknown_pod (pod neither known from the API nor the only holder of the device).',
    type: 'gauge',
    unit: '',
    labelNames: ['reason'],
    stability: 'alpha',
    *samples(s: Snapshot) {
      if (s.attribution) for (const r of UNATTRIBUTED_REASONS) yield { labels: [r], value: s.attribution.unattributedProcesses[r] };
    },
  },
  {
    name: 'accelerator_exporter_unresolved_allocations',
    help: 'Allocations whose device no backend reads, or whose DRA device no ResourceSlice of this node locates.',
    type: 'gauge',
    unit: '',
    labelNames: [],
    stability: 'alpha',
    *samples(s: Snapshot) {
      if (s.attribution) yield { labels: [], value: s.attribution.unresolvedAllocations };
    },
  },
];

/** Rendered per scrape: moves with the clock. */
export const ATTRIBUTION_SCRAPE_FAMILIES: readonly MetricFamily[] = [
  {
    name: 'accelerator_exporter_attribution_last_refresh_age_seconds',
    help: 'Seconds since the last successful kubelet PodResources List.',
    type: 'gauge',
    unit: 'seconds',
    labelNames: [],
    stability: 'alpha',
    *samples(s: Snapshot, nowMs: number) {
      if (s.attribution?.lastRefreshMs !== undefined) yield { labels: [], value: Math.max(0, (nowMs - s.attribution.lastRefreshMs) / 1000) };
    },
  },
];
