// What a device plugin's `device_ids` name, and how each is found among the
// devices the backends read. Each vendor declares its own id formats
// (`parseDeviceId` in src/backends/<vendor>/index.ts); a PCI address and the
// `::N` replica suffix are common to all. Pure: the sysfs read that turns an
// Intel `card<N>` into its PCI address is passed in.

import { readlinkSync } from 'node:fs';
import path from 'node:path';
import type { HostReads, VendorFacts } from '../backends/backend.ts';
import { normalizePciBusId, type DeviceIdentity } from '../model.ts';

/** A device id as the kubelet reports it, reduced to something a device can be matched on. */
export interface ParsedDeviceId {
  /** A backend's device uuid (NVIDIA `GPU-...`/`MIG-...`), or empty. */
  readonly uuid: string;
  /** Normalised PCI address (AMD ids, Intel cards via sysfs), or empty. */
  readonly pciBusId: string;
  /** A device index of `vendor` (`nvidia0` on GKE), or empty. */
  readonly index: string;
  /** The vendor whose format the id has, or empty. */
  readonly vendor: string;
  /** Time-slicing/MPS replicas (`<id>::N`), legacy MIG slices and Intel shared-dev-num shares: the device is shared by design. */
  readonly replica: boolean;
  /** The id without a replica suffix, kept as the label when nothing matches. */
  readonly base: string;
  /** An id that names something no backend reports (AMD `amdgpu_xcp_<N>`): never matched. */
  readonly unmatchable: boolean;
}

export type DeviceIdParser = (id: string) => ParsedDeviceId;

/** The parser of every vendor's device-plugin ids. */
export function deviceIdParser(vendors: readonly VendorFacts[], host: HostReads): DeviceIdParser {
  return (id) => {
    const sep = id.indexOf('::');
    const replica = sep >= 0;
    const base = replica ? id.slice(0, sep) : id;
    const none: ParsedDeviceId = { uuid: '', pciBusId: '', index: '', vendor: '', replica, base, unmatchable: false };
    for (const v of vendors) {
      const m = v.parseDeviceId?.(base, host);
      if (m) return { ...none, ...m, vendor: v.name, replica: replica || m.replica === true };
    }
    const pci = normalizePciBusId(base);
    if (pci) return { ...none, pciBusId: pci };
    return none;
  };
}

/** The host reads of device-id parsing, from a sysfs mount. */
export function sysfsReads(sysfs: string): HostReads {
  return { drmCardPciBusId: (card) => drmCardPciBusId(sysfs, card) };
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
  if (p.unmatchable) return undefined;
  if (p.uuid) return devices.find((d) => d.uuid === p.uuid);
  if (p.pciBusId) return devices.find((d) => d.pciBusId === p.pciBusId && !d.parentUuid) ?? devices.find((d) => d.pciBusId === p.pciBusId);
  if (p.index) return devices.find((d) => d.vendor === p.vendor && d.index === p.index);
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
