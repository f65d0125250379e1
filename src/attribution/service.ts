// Attribution as the app uses it: its flags, the kubelet poller and the
// optional API caches running in the background, and `combine`, which joins
// a poller snapshot with the cached state. `combine` runs when either side
// changes, never per scrape.

import type { Logger } from 'pino';
import type { Snapshot } from '../collect/snapshot.ts';
import type { Config, FlagSpec } from '../config.ts';
import { parseDurationMs } from '../config.ts';
import { attribute } from './attribute.ts';
import { lookupPid } from './cgroup.ts';
import { resourceMatcher } from './device-ids.ts';
import type { KubeSource } from './kube-api.ts';
import { PodResourcesPoller } from './pod-resources.ts';
import { procfsProblem } from './procfs-check.ts';

export const ATTRIBUTION_FLAGS: readonly FlagSpec[] = [
  { name: 'attribution', kind: 'bool', default: 'true', help: 'Map devices and GPU processes to pods, containers and DRA claims (kubelet PodResources API, /proc/<pid>/cgroup, optional Kubernetes API).' },
  { name: 'kubelet.pod-resources-socket', kind: 'string', default: '/var/lib/kubelet/pod-resources/kubelet.sock', help: 'Unix socket of the kubelet PodResources API (mount the directory, read-only).' },
  { name: 'attribution.interval', kind: 'duration', keyword: 'collect', default: 'collect', help: 'How often the kubelet PodResources List is polled; "collect" uses --collect.interval.' },
  { name: 'attribution.resource-names', kind: 'string', default: 'nvidia.com/*,amd.com/*,gpu.intel.com/*,habana.ai/*,aws.amazon.com/neuron*', help: 'Device-plugin resource names whose allocations are attributed, comma-separated, * matches anything.' },
  { name: 'attribution.dra-drivers', kind: 'string', default: 'gpu.nvidia.com,gpu.amd.com,gpu.intel.com,*.habana.ai,neuron.amazonaws.com', help: 'DRA drivers whose claims are reported even when no ResourceSlice locates the device, comma-separated, * matches anything.' },
  { name: 'path.procfs', kind: 'string', default: '/proc', help: 'procfs mount point; the host\'s (hostPID) to attribute GPU processes to containers.' },
  { name: 'path.sysfs', kind: 'string', default: '/sys', help: 'sysfs mount point, to resolve Intel card<N> device ids to PCI addresses.' },
  { name: 'kubeconfig', kind: 'string', default: 'in-cluster', help: 'kubeconfig file for the Kubernetes API (pods, ResourceSlices, ResourceClaims); "in-cluster" uses the service account when running in a pod, and skips the API otherwise.' },
  { name: 'kubernetes.node-name', kind: 'string', default: 'env:NODE_NAME', help: 'This node\'s name, to select its pods and ResourceSlices; "env:NODE_NAME" reads it from that variable (downward API).' },
];

export interface Attribution {
  start(): void;
  stop(): Promise<void>;
  combine(s: Snapshot): Snapshot;
}

export function createAttribution(config: Config, log: Logger, onChange: () => void, env: Readonly<Record<string, string | undefined>> = process.env): Attribution | undefined {
  const raw = config.raw;
  if (raw['attribution'] !== 'true') return undefined;
  const alog = log.child({ component: 'attribution' });
  // parseConfig has checked the value: "collect" or a positive duration.
  const intervalMs = raw['attribution.interval'] === 'collect' ? config.intervalMs : parseDurationMs(raw['attribution.interval']!)!;
  const kubelet = new PodResourcesPoller({ socket: raw['kubelet.pod-resources-socket']!, intervalMs, timeoutMs: config.timeoutMs, log: alog, onChange });

  let kube: KubeSource | undefined;
  const nodeFlag = raw['kubernetes.node-name']!;
  const nodeName = nodeFlag.startsWith('env:') ? (env[nodeFlag.slice(4)] ?? '') : nodeFlag;
  const kubeconfig = raw['kubeconfig'] === 'in-cluster' ? '' : raw['kubeconfig']!;
  const wantApi = kubeconfig !== '' || (env.KUBERNETES_SERVICE_HOST !== undefined && env.KUBERNETES_SERVICE_PORT !== undefined);
  // The API client is a heavy import: load it only where there is an API to talk to.
  const startApi = async () => {
    const { KubeSource, loadKubeConfig } = await import('./kube-api.ts');
    try {
      const kc = loadKubeConfig(kubeconfig, env);
      if (kc && !nodeName) alog.warn('no node name (set NODE_NAME from spec.nodeName or --kubernetes.node-name); the Kubernetes API is not used');
      else if (kc) {
        kube = new KubeSource(kc, { kubeconfig, nodeName, log: alog, onChange });
        kube.start();
      }
    } catch (err) {
      alog.warn({ err: (err as Error).message }, 'cannot load Kubernetes API access; the API is not used');
    }
  };

  const isCountedResource = resourceMatcher(raw['attribution.resource-names']!);
  const isCountedDraDriver = resourceMatcher(raw['attribution.dra-drivers']!);
  const procfs = raw['path.procfs']!;
  return {
    start() {
      const problem = procfsProblem(procfs);
      if (problem) alog.warn({ procfs, problem }, '--path.procfs is unusable; GPU processes cannot be attributed to containers');
      kubelet.start();
      if (wantApi) void startApi();
    },
    async stop() {
      kubelet.stop();
      await kube?.stop();
    },
    combine(s) {
      const k = kubelet.state();
      const attribution = attribute({
        kubeletUp: k.reachable,
        lastRefreshMs: k.lastSuccessMs,
        pods: k.pods,
        kube: kube?.current(),
        devices: s.devices,
        processes: s.processes,
        isCountedResource,
        isCountedDraDriver,
        lookupPid: (pid) => lookupPid(procfs, pid),
        sysfs: raw['path.sysfs']!,
      });
      return { ...s, attribution };
    },
  };
}
