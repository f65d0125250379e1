// What attribution exports: allocations of devices to containers and DRA
// claims, per-container device usage, and the counts of what could not be
// attributed. Read by the metric families.

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
