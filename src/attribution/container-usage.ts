// Step 3 of the join: what each container uses of each device. Memory is the
// sum of its processes'. Utilisation is the sum of its processes' measured
// shares where the tool measures each process (NVML process utilisation);
// otherwise it is a device-level value, so it belongs to a container only when
// that container holds the device alone.

import type { DeviceSample } from '../model.ts';
import { cmp, type DeviceHolders } from './allocations.ts';
import { containerKey, usageKey, type ContainerKey, type ContainerRef, type UsageKey } from './keys.ts';
import type { ProcessOwners } from './process-owners.ts';
import type { ContainerDeviceUsage } from './view.ts';

interface Usage {
  readonly ref: ContainerRef;
  readonly uuid: string;
  memoryUsedBytes?: number;
  utilizationRatio?: number;
}

export function containerUsage(devices: readonly DeviceSample[], held: DeviceHolders, owners: ProcessOwners): ContainerDeviceUsage[] {
  const usage = new Map<UsageKey, Usage>();
  const entry = (ref: ContainerRef, uuid: string): Usage => {
    const k = usageKey(ref, uuid);
    let u = usage.get(k);
    if (!u) usage.set(k, (u = { ref, uuid }));
    return u;
  };

  const seenOnDevice = new Map<string, Set<ContainerKey>>();
  for (const { process, owner } of owners.owned) {
    let seen = seenOnDevice.get(process.deviceUuid);
    if (!seen) seenOnDevice.set(process.deviceUuid, (seen = new Set()));
    seen.add(containerKey(owner));
    const u = entry(owner, process.deviceUuid);
    if (process.memoryUsedBytes !== undefined) u.memoryUsedBytes = (u.memoryUsedBytes ?? 0) + process.memoryUsedBytes;
    if (process.utilizationRatio !== undefined) u.utilizationRatio = Math.min(1, (u.utilizationRatio ?? 0) + process.utilizationRatio);
  }
  // Devices whose tool measured each process's share: the device value is never copied to a container there.
  const measured = new Set(owners.owned.filter((o) => o.process.utilizationRatio !== undefined).map((o) => o.process.deviceUuid));

  for (const d of devices) {
    if (measured.has(d.id.uuid)) continue;
    if (d.utilizationRatio === undefined || held.sharedByDesign.has(d.id.uuid) || owners.foreign.has(d.id.uuid)) continue;
    const holders = held.holders.get(d.id.uuid);
    if (!holders || holders.size !== 1) continue;
    const [only, ref] = [...holders][0]!;
    if ([...(seenOnDevice.get(d.id.uuid) ?? [])].some((k) => k !== only)) continue;
    entry(ref, d.id.uuid).utilizationRatio = d.utilizationRatio;
  }

  return [...usage.values()]
    .map((u) => ({
      ...u.ref,
      uuid: u.uuid,
      ...(u.memoryUsedBytes !== undefined ? { memoryUsedBytes: u.memoryUsedBytes } : {}),
      ...(u.utilizationRatio !== undefined ? { utilizationRatio: u.utilizationRatio } : {}),
    }))
    .sort((x, y) => cmp(x.namespace, y.namespace) || cmp(x.pod, y.pod) || cmp(x.container, y.container) || cmp(x.uuid, y.uuid));
}
