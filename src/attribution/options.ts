// Attribution's options. The defaults of the resource names and DRA drivers
// are those the vendors declare (src/backends/*/index.ts).

import type { VendorFacts } from '../backends/backend.ts';
import { option, type OptionGroup } from '../options.ts';

export interface AttributionOptions {
  readonly enabled: boolean;
  readonly podResourcesSocket: string;
  /** Milliseconds, or "collect" for --collect.interval. */
  readonly interval: number | 'collect';
  /** Device-plugin resource name patterns, comma-separated. */
  readonly resourceNames: string;
  /** DRA driver name patterns, comma-separated. */
  readonly draDrivers: string;
  readonly procfs: string;
  readonly sysfs: string;
  /** A kubeconfig path, or "in-cluster". */
  readonly kubeconfig: string;
  /** The node name, or "env:<VARIABLE>" to read it from the environment. */
  readonly nodeName: string;
}

function joined(lists: readonly (readonly string[])[]): string {
  return [...new Set(lists.flat())].join(',');
}

export function attributionOptions(vendors: readonly VendorFacts[]): OptionGroup<AttributionOptions> {
  return {
    enabled: option.bool('attribution', true, 'Map devices and GPU processes to pods, containers and DRA claims (kubelet PodResources API, /proc/<pid>/cgroup, optional Kubernetes API).'),
    podResourcesSocket: option.string('kubelet.pod-resources-socket', '/var/lib/kubelet/pod-resources/kubelet.sock', 'Unix socket of the kubelet PodResources API (mount the directory, read-only).'),
    interval: option.durationOr('attribution.interval', 'collect', 'collect', 'How often the kubelet PodResources List is polled; "collect" uses --collect.interval.'),
    resourceNames: option.string('attribution.resource-names', joined(vendors.map((v) => v.resourceNames)), 'Device-plugin resource names whose allocations are attributed, comma-separated, * matches anything.'),
    draDrivers: option.string('attribution.dra-drivers', joined(vendors.map((v) => v.draDrivers)), 'DRA drivers whose claims are reported even when no ResourceSlice locates the device, comma-separated, * matches anything.'),
    procfs: option.string('path.procfs', '/proc', 'procfs mount point; the host\'s (hostPID) to attribute GPU processes to containers.'),
    sysfs: option.string('path.sysfs', '/sys', 'sysfs mount point, to resolve Intel card<N> device ids to PCI addresses.'),
    kubeconfig: option.string('kubeconfig', 'in-cluster', 'kubeconfig file for the Kubernetes API (pods, ResourceSlices, ResourceClaims); "in-cluster" uses the service account when running in a pod, and skips the API otherwise.'),
    nodeName: option.string('kubernetes.node-name', 'env:NODE_NAME', 'This node\'s name, to select its pods and ResourceSlices; "env:NODE_NAME" reads it from that variable (downward API).'),
  };
}
