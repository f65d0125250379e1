// The attribution join, in named steps: which containers hold which devices
// (allocations.ts), which container each GPU process belongs to
// (process-owners.ts), and what each container uses of each device
// (container-usage.ts). Pure: the procfs and sysfs reads are passed in
// (`lookupPid`, `parseDeviceId`).

import type { DeviceIdentity, DeviceSample, ProcessSample } from '../model.ts';
import { deviceHolders, findAllocations, sortedAllocations } from './allocations.ts';
import type { CgroupLookup } from './cgroup.ts';
import { containerUsage } from './container-usage.ts';
import type { DeviceIdParser } from './device-ids.ts';
import type { KubeView } from './kube-api.ts';
import type { PodResources } from './pod-resources.ts';
import { processOwners } from './process-owners.ts';
import type { AttributionView } from './view.ts';

export interface JoinInput {
  readonly kubeletUp: boolean;
  readonly lastRefreshMs?: number;
  readonly pods: readonly PodResources[];
  readonly kube?: KubeView;
  readonly devices: readonly DeviceSample[];
  readonly processes: readonly ProcessSample[];
  readonly isCountedResource: (resource: string) => boolean;
  readonly isCountedDraDriver: (driver: string) => boolean;
  readonly lookupPid: (pid: number) => CgroupLookup;
  readonly parseDeviceId: DeviceIdParser;
}

export function joinAttribution(input: JoinInput): AttributionView {
  const ids = input.devices.map((d) => d.id);
  const { allocations, unresolved } = findAllocations(input);
  const held = deviceHolders(allocations, ids);
  const owners = processOwners(input, held.holders);
  const isHeld = (id: DeviceIdentity) => held.holders.has(id.uuid) || ids.some((c) => c.parentUuid === id.uuid && held.holders.has(c.uuid));
  return {
    kubeletUp: input.kubeletUp,
    ...(input.kube ? { apiUp: input.kube.reachable } : {}),
    ...(input.lastRefreshMs !== undefined ? { lastRefreshMs: input.lastRefreshMs } : {}),
    allocations: sortedAllocations(allocations),
    containers: containerUsage(input.devices, held, owners),
    unattributedDevices: ids.filter((id) => !isHeld(id)).length,
    unattributedProcesses: owners.unattributed,
    unresolvedAllocations: unresolved,
  };
}
