// Optional Kubernetes API access: list+watch of this node's pods and
// ResourceSlices, and of ResourceClaims (admin access, fallback when the
// kubelet does not report DRA). Without in-cluster env or --kubeconfig it is
// skipped; an unreachable API leaves the caches as they were and retries.

import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { normalizePciBusId } from '../model.ts';
import { sliceKey } from './keys.ts';

type Obj = Record<string, any>;

/** Where a DRA device is on the node: what a backend's device can be matched on. */
export interface SliceDevice {
  readonly uuid: string;
  readonly pciBusId: string;
  /** NVIDIA MIG devices: the GPU they are carved from (`parentUUID`), else empty. */
  readonly parentUuid: string;
}

export interface PodInfo {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  /** containerID without the runtime prefix -> container name. */
  readonly containers: ReadonlyMap<string, string>;
}

export interface ClaimAllocation {
  readonly driver: string;
  readonly pool: string;
  readonly device: string;
  readonly adminAccess: boolean;
}

export interface ClaimInfo {
  readonly namespace: string;
  readonly name: string;
  readonly results: readonly ClaimAllocation[];
  readonly reservedForPodUids: readonly string[];
}

export interface KubeView {
  readonly reachable: boolean;
  readonly podsByUid: ReadonlyMap<string, PodInfo>;
  /** `driver/pool/device` -> device location. */
  readonly sliceDevices: ReadonlyMap<string, SliceDevice>;
  readonly claims: readonly ClaimInfo[];
  /** Raw pods of this node, for the claim fallback (container claim references). */
  readonly pods: readonly Obj[];
}


function attr(attrs: Obj | undefined, name: string): string {
  const a = attrs?.[name];
  return typeof a?.string === 'string' ? a.string : '';
}

/** Reads v1/v1beta2 (attributes on the device) and v1beta1 (under `basic`) ResourceSlices. */
export function sliceDevices(slices: readonly Obj[]): Map<string, SliceDevice> {
  // Only the newest generation of a pool is valid.
  const newest = new Map<string, number>();
  for (const s of slices) {
    const k = `${s.spec?.driver}/${s.spec?.pool?.name}`;
    newest.set(k, Math.max(newest.get(k) ?? -Infinity, Number(s.spec?.pool?.generation ?? 0)));
  }
  const out = new Map<string, SliceDevice>();
  for (const s of slices) {
    const driver = String(s.spec?.driver ?? '');
    const pool = String(s.spec?.pool?.name ?? '');
    if (Number(s.spec?.pool?.generation ?? 0) !== newest.get(`${driver}/${pool}`)) continue;
    for (const d of (s.spec?.devices ?? []) as Obj[]) {
      const attrs = d.attributes ?? d.basic?.attributes;
      const uuid = attr(attrs, 'uuid');
      const pci = normalizePciBusId(attr(attrs, 'resource.kubernetes.io/pciBusID') || attr(attrs, 'pciBusID') || attr(attrs, 'pcieBusID') || attr(attrs, 'pciAddr') || attr(attrs, 'parentPciAddr'));
      // AMD's `uuid` is synthetic (not a hardware id): only NVIDIA's GPU-/MIG- uuids are joinable.
      const parent = attr(attrs, 'parentUUID');
      out.set(sliceKey(driver, pool, String(d.name)), { uuid: /^(GPU|MIG)-/.test(uuid) ? uuid : '', pciBusId: pci, parentUuid: /^GPU-/.test(parent) ? parent : '' });
    }
  }
  return out;
}

export function podInfo(p: Obj): PodInfo {
  const containers = new Map<string, string>();
  const statuses = [...(p.status?.containerStatuses ?? []), ...(p.status?.initContainerStatuses ?? []), ...(p.status?.ephemeralContainerStatuses ?? [])] as Obj[];
  for (const c of statuses) {
    const id = String(c.containerID ?? '').replace(/^[a-z-]+:\/\//, '');
    if (id) containers.set(id, String(c.name));
  }
  return { uid: String(p.metadata?.uid ?? ''), namespace: String(p.metadata?.namespace ?? ''), name: String(p.metadata?.name ?? ''), containers };
}

/** By UID, and static (mirror) pods also by their manifest hash: the UID their cgroup is named by. */
export function podsByUid(pods: readonly Obj[]): Map<string, PodInfo> {
  const out = new Map<string, PodInfo>();
  for (const p of pods) {
    const info = podInfo(p);
    out.set(info.uid, info);
    const hash = p.metadata?.annotations?.['kubernetes.io/config.hash'];
    if (typeof hash === 'string' && hash) out.set(hash, info);
  }
  return out;
}

export function claimInfo(c: Obj): ClaimInfo {
  return {
    namespace: String(c.metadata?.namespace ?? ''),
    name: String(c.metadata?.name ?? ''),
    results: ((c.status?.allocation?.devices?.results ?? []) as Obj[]).map((r) => ({
      driver: String(r.driver ?? ''),
      pool: String(r.pool ?? ''),
      device: String(r.device ?? ''),
      adminAccess: r.adminAccess === true,
    })),
    reservedForPodUids: ((c.status?.reservedFor ?? []) as Obj[]).filter((r) => (r.resource ?? 'pods') === 'pods').map((r) => String(r.uid)),
  };
}

export interface KubeSourceOptions {
  readonly kubeconfig: string;
  readonly nodeName: string;
  readonly log: Logger;
  readonly onChange: () => void;
}

const RESOURCE_VERSIONS = ['v1', 'v1beta2', 'v1beta1'] as const;

/** Loads API access, or undefined when there is none to use (not in a cluster, no --kubeconfig). */
export function loadKubeConfig(kubeconfig: string, env: Readonly<Record<string, string | undefined>>): k8s.KubeConfig | undefined {
  const kc = new k8s.KubeConfig();
  if (kubeconfig) {
    kc.loadFromFile(kubeconfig);
    return kc;
  }
  if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT) {
    kc.loadFromCluster();
    return kc;
  }
  return undefined;
}

interface Cache {
  readonly name: string;
  informer?: k8s.Informer<k8s.KubernetesObject> & k8s.ObjectCache<k8s.KubernetesObject>;
  ok: boolean;
  backoffMs: number;
  timer?: NodeJS.Timeout;
}

export class KubeSource {
  private readonly kc: k8s.KubeConfig;
  private readonly opts: KubeSourceOptions;
  private readonly caches: Cache[] = [];
  private stopped = false;
  private view: KubeView = { reachable: false, podsByUid: new Map(), sliceDevices: new Map(), claims: [], pods: [] };

  constructor(kc: k8s.KubeConfig, opts: KubeSourceOptions) {
    this.kc = kc;
    this.opts = opts;
  }

  current(): KubeView {
    return this.view;
  }

  start(): void {
    const core = this.kc.makeApiClient(k8s.CoreV1Api);
    const node = `spec.nodeName=${this.opts.nodeName}`;
    this.watch('pods', '/api/v1/pods', node, () => core.listPodForAllNamespaces({ fieldSelector: node }) as Promise<k8s.KubernetesListObject<k8s.KubernetesObject>>);
    void this.startResource('resourceslices', node);
    void this.startResource('resourceclaims', undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const c of this.caches) {
      clearTimeout(c.timer);
      await c.informer?.stop().catch(() => undefined);
    }
  }

  /** resource.k8s.io: v1 (1.34+), else the beta versions of 1.32/1.33. */
  private async startResource(plural: 'resourceslices' | 'resourceclaims', fieldSelector: string | undefined): Promise<void> {
    const apis = { v1: k8s.ResourceV1Api, v1beta2: k8s.ResourceV1beta2Api, v1beta1: k8s.ResourceV1beta1Api };
    for (let attempt = 0; !this.stopped; attempt++) {
      for (const v of RESOURCE_VERSIONS) {
        const api = this.kc.makeApiClient(apis[v] as typeof k8s.ResourceV1Api) as any;
        const list = () => (plural === 'resourceslices' ? api.listResourceSlice({ fieldSelector }) : api.listResourceClaimForAllNamespaces({})) as Promise<k8s.KubernetesListObject<k8s.KubernetesObject>>;
        try {
          await list();
        } catch (err) {
          if ((err as { code?: number }).code === 404) continue;
          this.opts.log.debug({ resource: plural, err: (err as Error).message }, 'kubernetes API list failed; retrying');
          break;
        }
        this.watch(plural, `/apis/resource.k8s.io/${v}/${plural}`, fieldSelector, list);
        return;
      }
      await new Promise((r) => setTimeout(r, Math.min(30_000, 500 * 2 ** Math.min(attempt, 6))).unref());
    }
  }

  private watch(name: string, path: string, fieldSelector: string | undefined, list: () => Promise<k8s.KubernetesListObject<k8s.KubernetesObject>>): void {
    const cache: Cache = { name, ok: false, backoffMs: 500 };
    const informer = new k8s.ListWatch(path, new k8s.Watch(this.kc), list, false, undefined, fieldSelector);
    cache.informer = informer;
    const changed = () => {
      cache.ok = true;
      cache.backoffMs = 500;
      this.rebuild();
    };
    for (const verb of ['add', 'update', 'delete'] as const) informer.on(verb, changed);
    informer.on('error', (err) => {
      if (this.stopped) return;
      if (cache.ok || !cache.timer) this.opts.log.warn({ resource: name, err: String((err as Error)?.message ?? err) }, 'kubernetes API watch failed; keeping the last state and retrying');
      cache.ok = false;
      this.rebuild();
      cache.timer = setTimeout(() => void informer.start().then(changed, () => undefined), cache.backoffMs);
      cache.backoffMs = Math.min(cache.backoffMs * 2, 30_000);
    });
    this.caches.push(cache);
    // start() resolves after the initial list: the cache is synced even when the list was empty.
    void informer.start().then(changed, () => undefined);
  }

  private rebuild(): void {
    const items = (n: string) => (this.caches.find((c) => c.name === n)?.informer?.list() ?? []) as Obj[];
    const pods = items('pods');
    this.view = {
      // Synced only once pods, ResourceSlices and ResourceClaims are all listed and watched.
      reachable: this.caches.length === 3 && this.caches.every((c) => c.ok),
      pods,
      podsByUid: podsByUid(pods),
      sliceDevices: sliceDevices(items('resourceslices')),
      claims: items('resourceclaims').map(claimInfo),
    };
    this.opts.onChange();
  }
}
