// PromQL shared by several dashboards. Joins between device and workload
// series match on (node, uuid): both come from the same exporter, and a uuid
// alone is only unique if every vendor keeps its promise. The side joined to
// is aggregated to one series per (node, uuid): a scrape config that keeps the
// exporter pod's labels gives a device a second series after every rollout.

export const DEV = 'node=~"$node", vendor=~"$vendor", model=~"$model"';
/** Physical devices only: a partition's power and memory are already in its parent's. */
export const PHYSICAL = `${DEV}, parent_uuid=""`;

/**
 * Allocated devices never above 5% busy over the last 30 minutes (the
 * AcceleratorAllocatedIdle condition), per holding pod, from the recording
 * rule: the raw form reads 30 minutes of every device's utilisation.
 */
export function allocatedIdle(selector: string): string {
  return `node_namespace_pod_uuid:accelerator_allocated_idle_utilization:max30m{${selector}}`;
}

/**
 * Like DEV, but also matching devices of unknown model: a device lost before
 * the exporter ever read it has only its PCI address and vendor.
 */
export const DEV_OR_UNKNOWN = 'node=~"$node", vendor=~"$vendor", model=~"$model|"';

/** Devices seen in the last 6 hours that do not answer now (lost, or gone altogether). */
export function missingOrLost(devSelector: string): string {
  return `max by (node, pci_bus_id, uuid, model) (max_over_time(accelerator_device_up{${devSelector}}[6h])) unless on (node, pci_bus_id) (accelerator_device_up{${devSelector}} == 1)`;
}

/** Devices held by more than one pod (time-slicing, MPS). */
export function shared(selector: string): string {
  return `count by (node, uuid) (count by (node, uuid, namespace, pod) (accelerator_allocation_info{${selector}})) > 1`;
}

export const PERCENT = { unit: 'percentunit', min: 0, max: 1 } as const;

export const BUSY_THRESHOLDS = [
  { value: null, color: 'red' },
  { value: 0.05, color: 'orange' },
  { value: 0.3, color: 'green' },
] as const;
