// The join: kubelet allocations (device plugins and DRA), ResourceSlices,
// pods and /proc/<pid>/cgroup against the devices and processes the
// backends read. Pure apart from the procfs/sysfs reads it is handed.

import type { DeviceIdentity, DeviceSample, ProcessSample } from '../model.ts';
import type { CgroupLookup } from './cgroup.ts';
import { matchDevice, parseDeviceId } from './device-ids.ts';
import type { KubeView } from './kube-api.ts';
import type { PodResources } from './pod-resources.ts';

/** One (device, container) allocation; the fields that do not apply are empty. */
export interface Allocation {
  readonly uuid: string;
  readonly namespace: string;
  readonly pod: string;
  readonly container: string;
  readonly resource: string;
  readonly claimNamespace: string;
  readonly claim: string;
  readonly draDriver: string;
  readonly draPool: string;
  readonly draDevice: string;
  /** Shared by design (time-slicing/MPS replica, DRA shareID, a MIG device placed on its parent GPU). */
  readonly shared: boolean;
}

export interface ContainerDeviceUsage {
  readonly namespace: string;
  readonly pod: string;
  readonly container: string;
  readonly uuid: string;
  readonly memoryUsedBytes?: number;
  readonly utilizationRatio?: number;
}

export const UNATTRIBUTED_REASONS = ['host', 'no_cgroup', 'unknown_pod'] as const;
export type UnattributedReason = (typeof UNATTRIBUTED_REASONS)[number];

export interface AttributionView {
  readonly kubeletUp: boolean;
  /** Undefined when no API access is configured. */
  readonly apiUp?: boolean;
  readonly lastRefreshMs?: number;
  readonly allocations: readonly Allocation[];
  readonly containers: readonly ContainerDeviceUsage[];
  readonly unattributedDevices: number;
  readonly unattributedProcesses: Readonly<Record<UnattributedReason, number>>;
  /** Allocations whose device no backend reads (or, for DRA, no ResourceSlice locates). */
  readonly unresolvedAllocations: number;
}

export interface AttributeInput {
  readonly kubeletUp: boolean;
  readonly lastRefreshMs?: number;
  readonly pods: readonly PodResources[];
  readonly kube?: KubeView;
  readonly devices: readonly DeviceSample[];
  readonly processes: readonly ProcessSample[];
  readonly isCountedResource: (resource: string) => boolean;
  readonly isCountedDraDriver: (driver: string) => boolean;
  readonly lookupPid: (pid: number) => CgroupLookup;
  readonly sysfs: string;
}

type Obj = Record<string, any>;

export function sliceKey(driver: string, pool: string, device: string): string {
  return `${driver}/${pool}/${device}`;
}

const ownerKey = (ns: string, pod: string, ctr: string) => `${ns}\u0000${pod}\u0000${ctr}`;

export function attribute(input: AttributeInput): AttributionView {
  const ids = input.devices.map((d) => d.id);
  const allocations: Allocation[] = [];
  let unresolved = 0;
  const blank = { resource: '', claimNamespace: '', claim: '', draDriver: '', draPool: '', draDevice: '' };

  const adminAccess = new Set<string>();
  for (const c of input.kube?.claims ?? []) for (const r of c.results) if (r.adminAccess) adminAccess.add(`${c.namespace}/${c.name}/${sliceKey(r.driver, r.pool, r.device)}`);

  /**
   * Where a DRA device is among the backends' devices. A MIG device no backend reads (nvidia-smi
   * reports the GPU, not its MIG devices) is placed on its parent GPU, named by `parentUUID`, else
   * by the PCI address it shares with it: a share of that GPU, like a device-plugin MIG slice.
   */
  const draDevice = (driver: string, pool: string, device: string): { uuid: string; share: boolean } | undefined => {
    const at = input.kube?.sliceDevices.get(sliceKey(driver, pool, device));
    if (!at) return undefined;
    const own = at.uuid ? ids.find((d) => d.uuid === at.uuid) : undefined;
    if (own) return { uuid: own.uuid, share: false };
    const byPci = at.pciBusId ? (ids.find((d) => d.pciBusId === at.pciBusId && !d.parentUuid) ?? ids.find((d) => d.pciBusId === at.pciBusId)) : undefined;
    if (at.parentUuid || at.uuid.startsWith('MIG-')) {
      const parent = (at.parentUuid ? ids.find((d) => d.uuid === at.parentUuid) : undefined) ?? byPci;
      return parent ? { uuid: parent.uuid, share: true } : { uuid: at.uuid, share: false };
    }
    if (byPci) return { uuid: byPci.uuid, share: false };
    return at.uuid ? { uuid: at.uuid, share: false } : undefined;
  };

  const claimsSeen = new Set<string>();
  for (const p of input.pods) {
    for (const c of p.containers) {
      for (const d of c.devices) {
        if (!input.isCountedResource(d.resourceName)) continue;
        for (const raw of d.deviceIds) {
          const parsed = parseDeviceId(raw, input.sysfs);
          const dev = matchDevice(parsed, ids);
          const parent = dev ? undefined : migParent(parsed.uuid, input.devices);
          if (!dev && !parent) unresolved++;
          // A MIG slice placed on its parent GPU is a share of it: the GPU's utilisation is not the container's.
          allocations.push({ ...blank, uuid: dev?.uuid ?? parent?.uuid ?? parsed.base, namespace: p.namespace, pod: p.name, container: c.name, resource: d.resourceName, shared: parsed.replica || parent !== undefined });
        }
      }
      for (const dr of c.dynamicResources) {
        claimsSeen.add(`${dr.claimNamespace}/${dr.claimName}`);
        for (const r of dr.claimResources) {
          if (adminAccess.has(`${dr.claimNamespace}/${dr.claimName}/${sliceKey(r.driverName, r.poolName, r.deviceName)}`)) continue;
          const at = draDevice(r.driverName, r.poolName, r.deviceName);
          if (at === undefined && !input.isCountedDraDriver(r.driverName)) continue;
          if (at === undefined || !ids.some((d) => d.uuid === at.uuid)) unresolved++;
          allocations.push({
            uuid: at?.uuid ?? '',
            namespace: p.namespace,
            pod: p.name,
            container: c.name,
            resource: '',
            claimNamespace: dr.claimNamespace,
            claim: dr.claimName,
            draDriver: r.driverName,
            draPool: r.poolName,
            draDevice: r.deviceName,
            shared: r.shareId !== undefined || at?.share === true,
          });
        }
      }
    }
  }

  // Kubelets before 1.34 do not report DRA claims: fall back to the claims reserved for this node's pods.
  const kube = input.kube;
  if (kube) {
    for (const c of kube.claims) {
      if (claimsSeen.has(`${c.namespace}/${c.name}`)) continue;
      for (const uid of c.reservedForPodUids) {
        const pod = kube.pods.find((p) => p.metadata?.uid === uid);
        if (!pod) continue;
        const containers = claimContainers(pod, c.name);
        for (const r of c.results) {
          if (r.adminAccess) continue;
          const at = draDevice(r.driver, r.pool, r.device);
          if (at === undefined && !input.isCountedDraDriver(r.driver)) continue;
          if (at === undefined || !ids.some((d) => d.uuid === at.uuid)) unresolved++;
          for (const ctr of containers) {
            allocations.push({ uuid: at?.uuid ?? '', namespace: String(pod.metadata.namespace), pod: String(pod.metadata.name), container: ctr, resource: '', claimNamespace: c.namespace, claim: c.name, draDriver: r.driver, draPool: r.pool, draDevice: r.device, shared: at?.share === true });
          }
        }
      }
    }
  }

  // Devices a container holds, by physical or partition uuid; a MIG allocation also occupies its parent.
  const holders = new Map<string, Set<string>>();
  const sharedByDesign = new Set<string>();
  for (const a of allocations) {
    if (!a.uuid) continue;
    const k = ownerKey(a.namespace, a.pod, a.container);
    for (const u of [a.uuid, ids.find((d) => d.uuid === a.uuid)?.parentUuid]) {
      if (!u) continue;
      let set = holders.get(u);
      if (!set) holders.set(u, (set = new Set()));
      set.add(k);
      if (a.shared) sharedByDesign.add(u);
    }
  }

  const unattributedProcesses: Record<UnattributedReason, number> = { host: 0, no_cgroup: 0, unknown_pod: 0 };
  const memory = new Map<string, { ns: string; pod: string; ctr: string; uuid: string; bytes?: number }>();
  const seenOnDevice = new Map<string, Set<string>>();
  const foreign = new Set<string>();
  /** A container's own share of a device: the sum of its processes' measured shares. */
  const processShare = new Map<string, number>();
  const measuredPerProcess = new Set<string>();
  // One cgroup read per process; the pods seen on each device guard the no-API guess below.
  const looks = new Map(input.processes.map((p) => [p.pid, input.lookupPid(p.pid)]));
  const podsOnDevice = new Map<string, Set<string>>();
  for (const proc of input.processes) {
    const look = looks.get(proc.pid)!;
    if (look.kind !== 'pod') continue;
    let set = podsOnDevice.get(proc.deviceUuid);
    if (!set) podsOnDevice.set(proc.deviceUuid, (set = new Set()));
    set.add(look.owner.podUid);
  }
  for (const proc of input.processes) {
    const owner = ownerOf(proc, looks.get(proc.pid)!, input, holders, podsOnDevice);
    if (typeof owner === 'string') {
      unattributedProcesses[owner]++;
      // A host process or another pod's is on the device too: its utilisation is not one container's.
      if (owner !== 'no_cgroup') foreign.add(proc.deviceUuid);
      continue;
    }
    const k = ownerKey(owner.ns, owner.pod, owner.ctr);
    let seen = seenOnDevice.get(proc.deviceUuid);
    if (!seen) seenOnDevice.set(proc.deviceUuid, (seen = new Set()));
    seen.add(k);
    const mk = `${k}\u0000${proc.deviceUuid}`;
    const cur = memory.get(mk) ?? { ...owner, uuid: proc.deviceUuid };
    if (proc.memoryUsedBytes !== undefined) cur.bytes = (cur.bytes ?? 0) + proc.memoryUsedBytes;
    memory.set(mk, cur);
    if (proc.utilizationRatio !== undefined) processShare.set(mk, (processShare.get(mk) ?? 0) + proc.utilizationRatio);
  }
  // Devices whose tool measures each process's share (NVML process utilisation samples).
  for (const proc of input.processes) if (proc.utilizationRatio !== undefined) measuredPerProcess.add(proc.deviceUuid);

  // Where the tool measures each process's share, a container's utilisation is the sum of its own processes'.
  // Otherwise utilisation is a device-level value: it belongs to a container only when that container holds the device alone.
  const utilization = new Map<string, number>();
  for (const [mk, share] of processShare) utilization.set(mk, Math.min(1, share));
  for (const d of input.devices) {
    if (measuredPerProcess.has(d.id.uuid)) continue;
    if (d.utilizationRatio === undefined || sharedByDesign.has(d.id.uuid) || foreign.has(d.id.uuid)) continue;
    const h = holders.get(d.id.uuid);
    if (!h || h.size !== 1) continue;
    const [only] = h;
    if ([...(seenOnDevice.get(d.id.uuid) ?? [])].some((k) => k !== only)) continue;
    utilization.set(`${only}\u0000${d.id.uuid}`, d.utilizationRatio);
  }

  const containers = new Map<string, ContainerDeviceUsage>();
  for (const [mk, m] of memory) containers.set(mk, { namespace: m.ns, pod: m.pod, container: m.ctr, uuid: m.uuid, ...(m.bytes !== undefined ? { memoryUsedBytes: m.bytes } : {}) });
  for (const [mk, u] of utilization) {
    const [ns, pod, ctr, uuid] = mk.split('\u0000') as [string, string, string, string];
    containers.set(mk, { namespace: ns, pod, container: ctr, uuid, ...containers.get(mk), utilizationRatio: u });
  }

  const held = (id: DeviceIdentity) => holders.has(id.uuid) || ids.some((c) => c.parentUuid === id.uuid && holders.has(c.uuid));
  return {
    kubeletUp: input.kubeletUp,
    ...(input.kube ? { apiUp: input.kube.reachable } : {}),
    ...(input.lastRefreshMs !== undefined ? { lastRefreshMs: input.lastRefreshMs } : {}),
    allocations: dedupe(allocations),
    containers: [...containers.values()].sort(compareUsage),
    unattributedDevices: ids.filter((id) => !held(id)).length,
    unattributedProcesses,
    unresolvedAllocations: unresolved,
  };
}

/**
 * nvidia-smi reports MIG-enabled GPUs, not their MIG devices, so a plugin's MIG uuid
 * matches nothing. It can only be on a GPU whose MIG mode is enabled: when the node has
 * exactly one, that is its parent. With several, which one is unknowable from the
 * backend's data, and the allocation stays unresolved.
 */
export function migParent(uuid: string, devices: readonly DeviceSample[]): DeviceIdentity | undefined {
  if (!uuid.startsWith('MIG-')) return undefined;
  const mig = devices.filter((d) => d.id.vendor === 'nvidia' && !d.id.parentUuid && d.info.mig_mode === 'enabled');
  return mig.length === 1 ? mig[0]!.id : undefined;
}

function ownerOf(proc: ProcessSample, look: CgroupLookup, input: AttributeInput, holders: ReadonlyMap<string, Set<string>>, podsOnDevice: ReadonlyMap<string, Set<string>>): { ns: string; pod: string; ctr: string } | UnattributedReason {
  if (look.kind === 'host') return 'host';
  if (look.kind === 'gone') return 'no_cgroup';
  const parent = input.devices.find((d) => d.id.uuid === proc.deviceUuid)?.id.parentUuid;
  const candidates = [...(holders.get(proc.deviceUuid) ?? []), ...(parent ? (holders.get(parent) ?? []) : [])].map((k) => k.split('\u0000') as [string, string, string]);
  const pod = input.kube?.podsByUid.get(look.owner.podUid);
  if (pod) {
    const named = pod.containers.get(look.owner.containerId);
    if (named) return { ns: pod.namespace, pod: pod.name, ctr: named };
    const inPod = [...new Set(candidates.filter(([ns, p]) => ns === pod.namespace && p === pod.name).map(([, , c]) => c))];
    return { ns: pod.namespace, pod: pod.name, ctr: inPod.length === 1 ? inPod[0]! : '' };
  }
  // With pod data from the API, a pod it does not know is not guessed at.
  if (input.kube) return 'unknown_pod';
  // No pod data: a device held by exactly one container can only be used by that container's
  // processes, unless processes of several pods are on it (one that left lingers): then which
  // pod is the holder is unknown.
  const distinct = [...new Set(candidates.map((c) => c.join('\u0000')))];
  if (distinct.length === 1 && podsOnDevice.get(proc.deviceUuid)?.size === 1) {
    const [ns, p, c] = distinct[0]!.split('\u0000') as [string, string, string];
    return { ns, pod: p, ctr: c };
  }
  return 'unknown_pod';
}

/** Container names that reference a pod-level claim which resolved to `claimName`. */
function claimContainers(pod: Obj, claimName: string): string[] {
  const podClaim = ((pod.status?.resourceClaimStatuses ?? []) as Obj[]).find((s) => s.resourceClaimName === claimName)?.name ?? pod.metadata?.annotations?.['resource.kubernetes.io/pod-claim-name'];
  const names = ((pod.spec?.containers ?? []) as Obj[]).filter((c) => ((c.resources?.claims ?? []) as Obj[]).some((r) => r.name === podClaim)).map((c) => String(c.name));
  return names.length > 0 ? names : [''];
}

function dedupe(list: Allocation[]): Allocation[] {
  const seen = new Map<string, Allocation>();
  for (const a of list) {
    const k = [a.uuid, a.namespace, a.pod, a.container, a.resource, a.claimNamespace, a.claim, a.draDriver, a.draPool, a.draDevice].join('\u0000');
    if (!seen.has(k)) seen.set(k, a);
  }
  return [...seen.values()].sort((x, y) => cmp(x.namespace, y.namespace) || cmp(x.pod, y.pod) || cmp(x.container, y.container) || cmp(x.uuid, y.uuid) || cmp(x.claim, y.claim) || cmp(x.draDevice, y.draDevice));
}

function compareUsage(x: ContainerDeviceUsage, y: ContainerDeviceUsage): number {
  return cmp(x.namespace, y.namespace) || cmp(x.pod, y.pod) || cmp(x.container, y.container) || cmp(x.uuid, y.uuid);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
