// Step 2 of the join: the container each GPU process belongs to, from its
// cgroup (read through the lookup it is handed), the pods the API knows and,
// without the API, the container holding the device.

import type { DeviceSample, ProcessSample } from '../model.ts';
import type { Holders } from './allocations.ts';
import type { CgroupLookup } from './cgroup.ts';
import type { ContainerKey, ContainerRef } from './keys.ts';
import type { KubeView } from './kube-api.ts';
import type { UnattributedReason } from './view.ts';

export interface ProcessOwnerInput {
  readonly processes: readonly ProcessSample[];
  readonly devices: readonly DeviceSample[];
  readonly kube?: KubeView;
  readonly lookupPid: (pid: number) => CgroupLookup;
}

export interface OwnedProcess {
  readonly process: ProcessSample;
  readonly owner: ContainerRef;
}

export interface ProcessOwners {
  readonly owned: readonly OwnedProcess[];
  readonly unattributed: Readonly<Record<UnattributedReason, number>>;
  /** Devices a host process or an unknown pod's process is on: their utilisation is not one container's. */
  readonly foreign: ReadonlySet<string>;
}

export function processOwners(input: ProcessOwnerInput, holders: Holders): ProcessOwners {
  // One cgroup read per process; the pods seen on each device guard the no-API guess.
  const looks = new Map(input.processes.map((p) => [p.pid, input.lookupPid(p.pid)]));
  const podsOnDevice = new Map<string, Set<string>>();
  for (const proc of input.processes) {
    const look = looks.get(proc.pid)!;
    if (look.kind !== 'pod') continue;
    let set = podsOnDevice.get(proc.deviceUuid);
    if (!set) podsOnDevice.set(proc.deviceUuid, (set = new Set()));
    set.add(look.owner.podUid);
  }
  const owned: OwnedProcess[] = [];
  const unattributed: Record<UnattributedReason, number> = { host: 0, no_cgroup: 0, unknown_pod: 0 };
  const foreign = new Set<string>();
  for (const proc of input.processes) {
    const owner = ownerOf(proc, looks.get(proc.pid)!, input, holders, podsOnDevice);
    if (typeof owner === 'string') {
      unattributed[owner]++;
      if (owner !== 'no_cgroup') foreign.add(proc.deviceUuid);
    } else owned.push({ process: proc, owner });
  }
  return { owned, unattributed, foreign };
}

function ownerOf(proc: ProcessSample, look: CgroupLookup, input: ProcessOwnerInput, holders: Holders, podsOnDevice: ReadonlyMap<string, Set<string>>): ContainerRef | UnattributedReason {
  if (look.kind === 'host') return 'host';
  if (look.kind === 'gone') return 'no_cgroup';
  const parent = input.devices.find((d) => d.id.uuid === proc.deviceUuid)?.id.parentUuid;
  const candidates = new Map<ContainerKey, ContainerRef>([...(holders.get(proc.deviceUuid) ?? []), ...(parent ? (holders.get(parent) ?? []) : [])]);
  const pod = input.kube?.podsByUid.get(look.owner.podUid);
  if (pod) {
    const named = pod.containers.get(look.owner.containerId);
    if (named) return { namespace: pod.namespace, pod: pod.name, container: named };
    const inPod = new Set([...candidates.values()].filter((c) => c.namespace === pod.namespace && c.pod === pod.name).map((c) => c.container));
    return { namespace: pod.namespace, pod: pod.name, container: inPod.size === 1 ? [...inPod][0]! : '' };
  }
  // With pod data from the API, a pod it does not know is not guessed at.
  if (input.kube) return 'unknown_pod';
  // No pod data: a device held by exactly one container can only be used by that container's
  // processes, unless processes of several pods are on it (one that left lingers): then which
  // pod is the holder is unknown.
  if (candidates.size === 1 && podsOnDevice.get(proc.deviceUuid)?.size === 1) return [...candidates.values()][0]!;
  return 'unknown_pod';
}
