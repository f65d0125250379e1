// Attribution as the app runs it: the kubelet poller and the optional
// Kubernetes API caches in the background, and `attribute`, which joins their
// current state with a poller snapshot. The snapshot store runs the join when
// either side changes, never per scrape.

import type { Logger } from 'pino';
import type { VendorFacts } from '../backends/backend.ts';
import type { Snapshot } from '../collect/snapshot.ts';
import { joinAttribution } from './join.ts';
import { lookupPid } from './cgroup.ts';
import { deviceIdParser, resourceMatcher, sysfsReads } from './device-ids.ts';
import type { KubeSource } from './kube-api.ts';
import type { AttributionOptions } from './options.ts';
import { PodResourcesPoller } from './pod-resources.ts';
import type { AttributionView } from './view.ts';

export interface Attribution {
  start(): void;
  stop(): Promise<void>;
  /** Calls `listener` whenever the kubelet's or the API's state changes. */
  onChange(listener: () => void): void;
  /** The current kubelet/API state joined with the snapshot's devices and processes. */
  attribute(s: Snapshot): AttributionView;
}

export interface AttributionDeps {
  readonly log: Logger;
  /** --collect.interval, which --attribution.interval=collect follows. */
  readonly collectIntervalMs: number;
  readonly timeoutMs: number;
  /** Whose device-plugin id formats are understood. */
  readonly vendors: readonly VendorFacts[];
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export function createAttribution(options: AttributionOptions, deps: AttributionDeps): Attribution {
  const env = deps.env ?? process.env;
  const log = deps.log.child({ component: 'attribution' });
  const listeners: (() => void)[] = [];
  const changed = () => {
    for (const l of listeners) l();
  };
  const intervalMs = options.interval === 'collect' ? deps.collectIntervalMs : options.interval;
  const kubelet = new PodResourcesPoller({ socket: options.podResourcesSocket, intervalMs, timeoutMs: deps.timeoutMs, log, onChange: changed });

  let kube: KubeSource | undefined;
  const nodeName = options.nodeName.startsWith('env:') ? (env[options.nodeName.slice(4)] ?? '') : options.nodeName;
  const kubeconfig = options.kubeconfig === 'in-cluster' ? '' : options.kubeconfig;
  const wantApi = kubeconfig !== '' || (env.KUBERNETES_SERVICE_HOST !== undefined && env.KUBERNETES_SERVICE_PORT !== undefined);
  // The API client is a heavy import: load it only where there is an API to talk to.
  const startApi = async () => {
    const { KubeSource, loadKubeConfig } = await import('./kube-api.ts');
    try {
      const kc = loadKubeConfig(kubeconfig, env);
      if (kc && !nodeName) log.warn('no node name (set NODE_NAME from spec.nodeName or --kubernetes.node-name); the Kubernetes API is not used');
      else if (kc) {
        kube = new KubeSource(kc, { kubeconfig, nodeName, log, onChange: changed });
        kube.start();
      }
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'cannot load Kubernetes API access; the API is not used');
    }
  };

  const isCountedResource = resourceMatcher(options.resourceNames);
  const isCountedDraDriver = resourceMatcher(options.draDrivers);
  const parseDeviceId = deviceIdParser(deps.vendors, sysfsReads(options.sysfs));
  return {
    start() {
      kubelet.start();
      if (wantApi) void startApi();
    },
    async stop() {
      kubelet.stop();
      await kube?.stop();
    },
    onChange(listener) {
      listeners.push(listener);
    },
    attribute(s) {
      const k = kubelet.state();
      return joinAttribution({
        kubeletUp: k.reachable,
        lastRefreshMs: k.lastSuccessMs,
        pods: k.pods,
        kube: kube?.current(),
        devices: s.devices,
        processes: s.processes,
        isCountedResource,
        isCountedDraDriver,
        lookupPid: (pid) => lookupPid(options.procfs, pid),
        parseDeviceId,
      });
    },
  };
}
