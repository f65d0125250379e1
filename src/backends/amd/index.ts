// AMD: what attribution and deploy need to know, and the amd-smi and rocm-smi
// backends (their modules are imported only when enabled).

import type { VendorFacts } from '../backend.ts';
import { toolBackend } from '../tool-run.ts';

export const AMD: VendorFacts = {
  name: 'amd',
  resourceNames: ['amd.com/*'],
  draDrivers: ['gpu.amd.com'],
  parseDeviceId(id) {
    // ROCm/k8s-device-plugin names a GPU by its PCI address (read by the shared PCI rule) and its
    // other partitions by the amdgpu_xcp platform device, which no backend reports (see matchDevice).
    if (/^amdgpu_xcp_\d+$/.test(id)) return { unmatchable: true };
    return undefined;
  },
  tolerations: ['amd.com/gpu'],
  nodeLabels: [
    { key: 'feature.node.kubernetes.io/pci-1002.present', value: 'true' },
    { key: 'amd.com/gpu.device-id' },
    { key: 'feature.node.kubernetes.io/amd-gpu', value: 'true' },
  ],
};

export const amdSmi = toolBackend('amd-smi', {
  vendor: AMD,
  defaultEnabled: true,
  description: 'AMD GPUs through amd-smi static, metric and process --json',
  load: async () => {
    const { AmdSmiBackend } = await import('./amd-smi.ts');
    return (deps, options) => new AmdSmiBackend(deps, options);
  },
});

export const rocmSmi = toolBackend('rocm-smi', {
  vendor: AMD,
  defaultEnabled: false,
  description: 'AMD GPUs through the older rocm-smi --json, for hosts without amd-smi (off by default: amd-smi reads the same GPUs, and both on would export each GPU twice)',
  load: async () => {
    const { RocmSmiBackend } = await import('./rocm-smi.ts');
    return (deps, options) => new RocmSmiBackend(deps, options);
  },
});
