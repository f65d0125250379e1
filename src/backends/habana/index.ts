// Intel Gaudi (Habana): what attribution and deploy need to know, and the
// hl-smi backend (its module is imported only when enabled).

import type { VendorFacts } from '../backend.ts';
import { toolBackend } from '../tool-run.ts';

export const HABANA: VendorFacts = {
  name: 'habana',
  resourceNames: ['habana.ai/*'],
  draDrivers: ['*.habana.ai'],
  tolerations: ['habana.ai/gaudi'],
  // No label that Gaudi nodes carry everywhere: components/node-selector schedules them.
  nodeLabels: [],
};

export const hlSmi = toolBackend('hl-smi', {
  vendor: HABANA,
  defaultEnabled: true,
  description: 'Intel Gaudi accelerators through hl-smi -Q (CSV)',
  load: async () => {
    const { HlSmiBackend } = await import('./hl-smi.ts');
    return (deps, options) => new HlSmiBackend(deps, options);
  },
});
