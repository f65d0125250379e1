// Typed keys of the attribution join. A key is built from its parts in one
// place and never split again: maps keyed by one hold the parts as values.

/** A container of a pod; `container` is empty when a claim names no container. */
export interface ContainerRef {
  readonly namespace: string;
  readonly pod: string;
  readonly container: string;
}

declare const brand: unique symbol;
type Key<B extends string> = string & { readonly [brand]: B };

export type ContainerKey = Key<'container'>;
/** A container on one device. */
export type UsageKey = Key<'usage'>;
/** A device of a ResourceSlice: driver, pool and device name. */
export type SliceKey = Key<'slice'>;
/** A device of one claim: the claim's namespace and name, and the slice device. */
export type ClaimDeviceKey = Key<'claim-device'>;

export function containerKey(c: ContainerRef): ContainerKey {
  return JSON.stringify([c.namespace, c.pod, c.container]) as ContainerKey;
}

export function usageKey(c: ContainerRef, uuid: string): UsageKey {
  return JSON.stringify([c.namespace, c.pod, c.container, uuid]) as UsageKey;
}

export function sliceKey(driver: string, pool: string, device: string): SliceKey {
  return `${driver}/${pool}/${device}` as SliceKey;
}

export function claimDeviceKey(claimNamespace: string, claim: string, device: SliceKey): ClaimDeviceKey {
  return `${claimNamespace}/${claim}/${device}` as ClaimDeviceKey;
}
