// NVIDIA: what attribution and deploy need to know, and the nvidia-smi backend
// (its module is imported only when the backend is enabled).

import { backendFactory, type VendorFacts } from '../backend.ts';
import { option } from '../../options.ts';
import { toolBackend } from '../tool-run.ts';

export const NVIDIA: VendorFacts = {
  name: 'nvidia',
  resourceNames: ['nvidia.com/*'],
  draDrivers: ['gpu.nvidia.com'],
  parseDeviceId(id) {
    // k8s-device-plugin: GPU and MIG uuids.
    if (/^(GPU|MIG)-[0-9a-fA-F-]+$/.test(id)) return { uuid: id };
    // Legacy MIG ids (`MIG-GPU-<uuid>/<gi>/<ci>`) name only the parent: a slice of it, so shared by design.
    const legacy = /^MIG-(GPU-[0-9a-fA-F-]+)\/\d+\/\d+$/.exec(id);
    if (legacy) return { uuid: legacy[1]!, replica: true };
    // GKE's plugin: nvidia<N>, also nvidia<N>/vgpu<M> and nvidia<N>/gi<M>.
    const gke = /^nvidia(\d+)(?:\/|$)/.exec(id);
    if (gke) return { index: gke[1]! };
    return undefined;
  },
  tolerations: ['nvidia.com/gpu'],
  nodeLabels: [
    { key: 'nvidia.com/gpu.present', value: 'true' },
    { key: 'feature.node.kubernetes.io/pci-10de.present', value: 'true' },
  ],
};

export const nvidiaSmi = toolBackend('nvidia-smi', {
  vendor: NVIDIA,
  defaultEnabled: true,
  description: 'NVIDIA GPUs through nvidia-smi --query-gpu and --query-compute-apps',
  load: async () => {
    const { NvidiaSmiBackend } = await import('./nvidia-smi.ts');
    return (deps, options) => new NvidiaSmiBackend(deps, options);
  },
});

export const nvml = backendFactory({
  name: 'nvml',
  vendor: NVIDIA,
  defaultEnabled: true,
  description: 'NVIDIA GPUs through NVML (libnvidia-ml) in process; when it reads the GPUs, the nvidia-smi backend stays idle',
  supersedes: ['nvidia-smi'],
  options: {
    library: option.string('nvml.library', 'libnvidia-ml.so.1', 'The NVML library: a file name found the way the dynamic loader finds libraries, or a path.'),
  },
  load: async () => {
    const { NvmlBackend } = await import('./nvml.ts');
    return (deps, options) =>
      new NvmlBackend(deps.log, { library: options.library, intervalMs: deps.intervalMs ?? 10_000 }, async (lib) => (await import('./nvml-koffi.ts')).loadNvml(lib));
  },
});
