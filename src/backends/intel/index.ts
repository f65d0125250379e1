// Intel data-centre GPUs: what attribution and deploy need to know, and the
// xpu-smi backend (its module is imported only when enabled).

import type { VendorFacts } from '../backend.ts';
import { toolBackend } from '../tool-run.ts';

export const INTEL: VendorFacts = {
  name: 'intel',
  resourceNames: ['gpu.intel.com/*'],
  draDrivers: ['gpu.intel.com'],
  parseDeviceId(id, host) {
    // intel-device-plugins-for-kubernetes: card<N>-<M>, M > 0 a shared-dev-num share of card N.
    const card = /^card(\d+)-(\d+)$/.exec(id);
    if (card) return { pciBusId: host.drmCardPciBusId(Number(card[1])), replica: Number(card[2]) > 0 };
    return undefined;
  },
  tolerations: ['gpu.intel.com/i915', 'gpu.intel.com/xe'],
  nodeLabels: [{ key: 'intel.feature.node.kubernetes.io/gpu', value: 'true' }],
};

export const xpuSmi = toolBackend('xpu-smi', {
  vendor: INTEL,
  defaultEnabled: true,
  description: 'Intel data-centre GPUs through xpu-smi discovery and dump',
  load: async () => {
    const { XpuSmiBackend } = await import('./xpu-smi.ts');
    return (deps, options) => new XpuSmiBackend(deps, options);
  },
});
