// Step 1 of the join: which container holds which device. Device-plugin
// allocations and DRA claims as the kubelet reports them (or, before 1.34,
// the claims the API reserves for this node's pods), placed on the devices the
// backends read. Pure: device ids are parsed by the parser it is handed.

import type { DeviceIdentity, DeviceSample } from '../model.ts';
import { matchDevice, type DeviceIdParser } from './device-ids.ts';
import { claimDeviceKey, containerKey, sliceKey, type ClaimDeviceKey, type ContainerKey, type ContainerRef } from './keys.ts';
import type { KubeView } from './kube-api.ts';
import type { PodResources } from './pod-resources.ts';
import type { Allocation } from './view.ts';

export interface AllocationInput {
  readonly pods: readonly PodResources[];
  readonly kube?: KubeView;
  readonly devices: readonly DeviceSample[];
  readonly isCountedResource: (resource: string) => boolean;
  readonly isCountedDraDriver: (driver: string) => boolean;
  readonly parseDeviceId: DeviceIdParser;
}

export interface Allocations {
  /** Not yet deduplicated or sorted (see `sortedAllocations`). */
  readonly allocations: readonly Allocation[];
  /** Allocations whose device no backend reads (or, for DRA, no ResourceSlice locates). */
  readonly unresolved: number;
}

type Obj = Record<string, any>;

const NO_RESOURCE = { resource: '', claimNamespace: '', claim: '', draDriver: '', draPool: '', draDevice: '' };

export function findAllocations(input: AllocationInput): Allocations {
  const ids = input.devices.map((d) => d.id);
  const allocations: Allocation[] = [];
  let unresolved = 0;
  const located = (at: { uuid: string } | undefined) => at !== undefined && ids.some((d) => d.uuid === at.uuid);

  const adminAccess = new Set<ClaimDeviceKey>();
  for (const c of input.kube?.claims ?? []) for (const r of c.results) if (r.adminAccess) adminAccess.add(claimDeviceKey(c.namespace, c.name, sliceKey(r.driver, r.pool, r.device)));

  const claimsSeen = new Set<string>();
  for (const p of input.pods) {
    for (const c of p.containers) {
      for (const d of c.devices) {
        if (!input.isCountedResource(d.resourceName)) continue;
        for (const raw of d.deviceIds) {
          const parsed = input.parseDeviceId(raw);
          const dev = matchDevice(parsed, ids);
          const parent = dev ? undefined : migParent(parsed.uuid, input.devices);
          if (!dev && !parent) unresolved++;
          // A MIG slice placed on its parent GPU is a share of it: the GPU's utilisation is not the container's.
          allocations.push({ ...NO_RESOURCE, uuid: dev?.uuid ?? parent?.uuid ?? parsed.base, namespace: p.namespace, pod: p.name, container: c.name, resource: d.resourceName, shared: parsed.replica || parent !== undefined });
        }
      }
      for (const dr of c.dynamicResources) {
        claimsSeen.add(`${dr.claimNamespace}/${dr.claimName}`);
        for (const r of dr.claimResources) {
          if (adminAccess.has(claimDeviceKey(dr.claimNamespace, dr.claimName, sliceKey(r.driverName, r.poolName, r.deviceName)))) continue;
          const at = draDevice(input.kube, ids, r.driverName, r.poolName, r.deviceName);
          if (at === undefined && !input.isCountedDraDriver(r.driverName)) continue;
          if (!located(at)) unresolved++;
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
          const at = draDevice(kube, ids, r.driver, r.pool, r.device);
          if (at === undefined && !input.isCountedDraDriver(r.driver)) continue;
          if (!located(at)) unresolved++;
          for (const ctr of containers) {
            allocations.push({ uuid: at?.uuid ?? '', namespace: String(pod.metadata.namespace), pod: String(pod.metadata.name), container: ctr, resource: '', claimNamespace: c.namespace, claim: c.name, draDriver: r.driver, draPool: r.pool, draDevice: r.device, shared: at?.share === true });
          }
        }
      }
    }
  }
  return { allocations, unresolved };
}

/** The containers holding each device, by device uuid. */
export type Holders = ReadonlyMap<string, ReadonlyMap<ContainerKey, ContainerRef>>;

export interface DeviceHolders {
  /** By physical or partition uuid; a partition's allocation also occupies its parent. */
  readonly holders: Holders;
  /** Devices shared by design (replicas, DRA shares, MIG slices on their parent): their utilisation is no container's. */
  readonly sharedByDesign: ReadonlySet<string>;
}

export function deviceHolders(allocations: readonly Allocation[], ids: readonly DeviceIdentity[]): DeviceHolders {
  const holders = new Map<string, Map<ContainerKey, ContainerRef>>();
  const sharedByDesign = new Set<string>();
  for (const a of allocations) {
    if (!a.uuid) continue;
    const ref: ContainerRef = { namespace: a.namespace, pod: a.pod, container: a.container };
    for (const u of [a.uuid, ids.find((d) => d.uuid === a.uuid)?.parentUuid]) {
      if (!u) continue;
      let held = holders.get(u);
      if (!held) holders.set(u, (held = new Map()));
      held.set(containerKey(ref), ref);
      if (a.shared) sharedByDesign.add(u);
    }
  }
  return { holders, sharedByDesign };
}

/** Each allocation once, sorted by container, device and claim. */
export function sortedAllocations(list: readonly Allocation[]): Allocation[] {
  const seen = new Map<string, Allocation>();
  for (const a of list) {
    const k = JSON.stringify([a.uuid, a.namespace, a.pod, a.container, a.resource, a.claimNamespace, a.claim, a.draDriver, a.draPool, a.draDevice]);
    if (!seen.has(k)) seen.set(k, a);
  }
  return [...seen.values()].sort((x, y) => cmp(x.namespace, y.namespace) || cmp(x.pod, y.pod) || cmp(x.container, y.container) || cmp(x.uuid, y.uuid) || cmp(x.claim, y.claim) || cmp(x.draDevice, y.draDevice));
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Where a DRA device is among the backends' devices. A MIG device no backend reads (nvidia-smi
 * reports the GPU, not its MIG devices) is placed on its parent GPU, named by `parentUUID`, else
 * by the PCI address it shares with it: a share of that GPU, like a device-plugin MIG slice.
 */
function draDevice(kube: KubeView | undefined, ids: readonly DeviceIdentity[], driver: string, pool: string, device: string): { uuid: string; share: boolean } | undefined {
  const at = kube?.sliceDevices.get(sliceKey(driver, pool, device));
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

/** Container names that reference a pod-level claim which resolved to `claimName`. */
function claimContainers(pod: Obj, claimName: string): string[] {
  const podClaim = ((pod.status?.resourceClaimStatuses ?? []) as Obj[]).find((s) => s.resourceClaimName === claimName)?.name ?? pod.metadata?.annotations?.['resource.kubernetes.io/pod-claim-name'];
  const names = ((pod.spec?.containers ?? []) as Obj[]).filter((c) => ((c.resources?.claims ?? []) as Obj[]).some((r) => r.name === podClaim)).map((c) => String(c.name));
  return names.length > 0 ? names : [''];
}
