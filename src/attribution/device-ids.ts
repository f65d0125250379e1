// What a device plugin's `device_ids` name, per vendor, and how each is found
// among the devices the backends read. Pure, apart from the sysfs readlink
// that turns an Intel `card<N>` into its PCI address.

import { readlinkSync } from 'node:fs';
import path from 'node:path';
import { normalizePciBusId, type DeviceIdentity } from '../model.ts';

/** A device id as the kubelet reports it, reduced to something a device can be matched on. */
export interface ParsedDeviceId {
  /** NVIDIA `GPU-...`/`MIG-...` uuid, or empty. */
  readonly uuid: string;
  /** Normalised PCI address (AMD ids, Intel cards via sysfs), or empty. */
  readonly pciBusId: string;
  /** A device index (`nvidia0` on GKE), or empty. */
  readonly index: string;
  /** Time-slicing/MPS replicas (`<id>::N`), legacy MIG slices and Intel shared-dev-num shares: the device is shared by design. */
  readonly replica: boolean;
  /** The id without a replica suffix, kept as the label when nothing matches. */
  readonly base: string;
  /** AMD `amdgpu_xcp_<N>`: a partition named by its platform device, which no backend reports (see matchDevice). */
  readonly amdXcp: boolean;
}

export function parseDeviceId(id: string, sysfs: string): ParsedDeviceId {
  const sep = id.indexOf('::');
  const replica = sep >= 0;
  const base = replica ? id.slice(0, sep) : id;
  const none = { uuid: '', pciBusId: '', index: '', replica, base, amdXcp: false };
  if (/^(GPU|MIG)-[0-9a-fA-F-]+$/.test(base)) return { ...none, uuid: base };
  // Legacy MIG ids (`MIG-GPU-<uuid>/<gi>/<ci>`) name only the parent for matching purposes.
  const legacy = /^MIG-(GPU-[0-9a-fA-F-]+)\/\d+\/\d+$/.exec(base);
  // A slice of that GPU, so shared by design like a replica.
  if (legacy) return { ...none, uuid: legacy[1]!, replica: true };
  const pci = normalizePciBusId(base);
  if (pci) return { ...none, pciBusId: pci };
  const gke = /^nvidia(\d+)(?:\/|$)/.exec(base);
  if (gke) return { ...none, index: gke[1]! };
  if (/^amdgpu_xcp_\d+$/.test(base)) return { ...none, amdXcp: true };
  const intel = /^card(\d+)-(\d+)$/.exec(base);
  if (intel) return { ...none, pciBusId: drmCardPciBusId(sysfs, Number(intel[1])), replica: replica || Number(intel[2]) > 0 };
  return none;
}

/** /sys/class/drm/card<N>/device links to the PCI device directory, named by its address. */
export function drmCardPciBusId(sysfs: string, card: number): string {
  try {
    return normalizePciBusId(path.basename(readlinkSync(path.join(sysfs, 'class/drm', `card${card}`, 'device'))));
  } catch {
    return '';
  }
}

/** Finds the device a parsed id names; undefined when none of the backends read it. */
export function matchDevice(p: ParsedDeviceId, devices: readonly DeviceIdentity[]): DeviceIdentity | undefined {
  // The ROCm plugin names a GPU's first partition by its PCI address and the others by
  // the global number of their amdgpu_xcp platform device. amd-smi reports partitions by
  // index and PCI address only, and N follows the driver's probe order, not the partition:
  // no mapping from N to one of them is reliable, so the allocation stays unresolved.
  if (p.amdXcp) return undefined;
  if (p.uuid) return devices.find((d) => d.uuid === p.uuid);
  if (p.pciBusId) return devices.find((d) => d.pciBusId === p.pciBusId && !d.parentUuid) ?? devices.find((d) => d.pciBusId === p.pciBusId);
  if (p.index) return devices.find((d) => d.vendor === 'nvidia' && d.index === p.index);
  return devices.find((d) => d.uuid === p.base);
}

/** `nvidia.com/*,aws.amazon.com/neuron*` to a matcher of resource names. */
export function resourceMatcher(patterns: string): (resource: string) => boolean {
  const res = patterns
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => new RegExp('^' + p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')).join('.*') + '$'));
  return (r) => res.some((re) => re.test(r));
}
