// AWS Neuron (Inferentia, Trainium): what attribution and deploy need to know,
// and the neuron-monitor backend (its module is imported only when enabled).

import type { VendorFacts } from '../backend.ts';
import { toolBackend } from '../tool-run.ts';

export const AWS: VendorFacts = {
  name: 'aws',
  resourceNames: ['aws.amazon.com/neuron*'],
  draDrivers: ['neuron.amazonaws.com'],
  tolerations: ['aws.amazon.com/neuron'],
  // No label that Neuron nodes carry everywhere: components/node-selector schedules them.
  nodeLabels: [],
};

export const neuronMonitor = toolBackend('neuron-monitor', {
  vendor: AWS,
  defaultEnabled: true,
  description: 'AWS Inferentia and Trainium (Neuron) devices through a long-running neuron-monitor',
  pathHelp: 'It runs for the life of the exporter with its default configuration.',
  load: async () => {
    const { NeuronMonitorBackend } = await import('./neuron-monitor.ts');
    return (deps, options) => new NeuronMonitorBackend(deps, options);
  },
});
