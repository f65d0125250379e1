// Optional Kubernetes API access: list+watch of this node's pods and
// ResourceSlices, and of ResourceClaims (admin access, fallback when the
// kubelet does not report DRA). Without in-cluster env or --kubeconfig it is
// skipped; an unreachable API leaves the caches as they were and retries.

import type { Logger } from 'pino';
import { normalizePciBusId } from '../model.ts';
import { sliceKey } from './keys.ts';
import { inClusterAccess, kubeconfigAccess, type KubeAccess } from './kube-access.ts';
import { KubeHttpClient, type KubeLister } from './kube-http.ts';
import { Reflector } from './kube-reflector.ts';

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

const pick = (o: Obj | undefined, keys: readonly string[]): Obj | undefined => (o ? Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]])) : undefined);
const ANNOTATIONS = ['kubernetes.io/config.hash', 'resource.kubernetes.io/pod-claim-name'];

/** What podInfo, podsByUid and the claim fallback read of a pod. */
export function slimPod(p: Obj): Obj {
  const statuses = (list: Obj[] | undefined) => list?.map((c) => pick(c, ['name', 'containerID']));
  return {
    metadata: { ...pick(p.metadata, ['uid', 'namespace', 'name']), annotations: pick(p.metadata?.annotations, ANNOTATIONS) },
    spec: { containers: ((p.spec?.containers ?? []) as Obj[]).map((c) => ({ name: c.name, resources: { claims: c.resources?.claims } })) },
    status: {
      containerStatuses: statuses(p.status?.containerStatuses),
      initContainerStatuses: statuses(p.status?.initContainerStatuses),
      ephemeralContainerStatuses: statuses(p.status?.ephemeralContainerStatuses),
      resourceClaimStatuses: p.status?.resourceClaimStatuses,
    },
  };
}

/** What claimInfo reads of a ResourceClaim: claims are listed cluster-wide, so their size counts. */
export function slimClaim(c: Obj): Obj {
  return { metadata: pick(c.metadata, ['namespace', 'name']), status: { allocation: { devices: { results: c.status?.allocation?.devices?.results } }, reservedFor: c.status?.reservedFor } };
}

export interface KubeSourceOptions {
  readonly kubeconfig: string;
  readonly nodeName: string;
  readonly log: Logger;
  readonly onChange: () => void;
  /** The client; a KubeHttpClient over the loaded access unless a test passes its own. */
  readonly client?: KubeLister;
}

/** resource.k8s.io: v1 (1.34+), else the beta versions of 1.32/1.33. */
const RESOURCE_VERSIONS = ['v1', 'v1beta2', 'v1beta1'] as const;
const resourcePaths = (plural: string) => RESOURCE_VERSIONS.map((v) => `/apis/resource.k8s.io/${v}/${plural}`);

/** Loads API access, or undefined when there is none to use (not in a cluster, no --kubeconfig). */
export function loadKubeConfig(kubeconfig: string, env: Readonly<Record<string, string | undefined>>): KubeAccess | undefined {
  if (kubeconfig) return kubeconfigAccess(kubeconfig);
  if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT) return inClusterAccess(env);
  return undefined;
}

export class KubeSource {
  private readonly opts: KubeSourceOptions;
  private readonly client: KubeLister & { close?(): void };
  private readonly reflectors: { pods: Reflector; resourceslices: Reflector; resourceclaims: Reflector };
  private view: KubeView = { reachable: false, podsByUid: new Map(), sliceDevices: new Map(), claims: [], pods: [] };

  constructor(access: KubeAccess, opts: KubeSourceOptions) {
    this.opts = opts;
    this.client = opts.client ?? new KubeHttpClient(access);
    const node = `spec.nodeName=${opts.nodeName}`;
    const common = { client: this.client, log: opts.log, onChange: () => this.rebuild() };
    this.reflectors = {
      pods: new Reflector({ ...common, name: 'pods', paths: ['/api/v1/pods'], fieldSelector: node, transform: slimPod }),
      resourceslices: new Reflector({ ...common, name: 'resourceslices', paths: resourcePaths('resourceslices'), fieldSelector: node }),
      // Claims are namespaced and carry no node: every claim is listed (the fallback for kubelets without DRA in PodResources).
      resourceclaims: new Reflector({ ...common, name: 'resourceclaims', paths: resourcePaths('resourceclaims'), transform: slimClaim }),
    };
  }

  current(): KubeView {
    return this.view;
  }

  start(): void {
    for (const r of Object.values(this.reflectors)) r.start();
  }

  async stop(): Promise<void> {
    await Promise.all(Object.values(this.reflectors).map((r) => r.stop()));
    this.client.close?.();
  }

  private rebuild(): void {
    const { pods: p, resourceslices, resourceclaims } = this.reflectors;
    const pods = p.items();
    this.view = {
      // Synced only while pods, ResourceSlices and ResourceClaims are all listed.
      reachable: p.isSynced() && resourceslices.isSynced() && resourceclaims.isSynced(),
      pods,
      podsByUid: podsByUid(pods),
      sliceDevices: sliceDevices(resourceslices.items()),
      claims: resourceclaims.items().map(claimInfo),
    };
    this.opts.onChange();
  }
}
