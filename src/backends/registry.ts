// Every backend the exporter knows, one line each; --backend.<name> and each
// backend's options, attribution's defaults and the DaemonSet's scheduling
// (tested) come from this list. Listing costs nothing: a backend's module is
// imported only when it is enabled.

import type { BackendFactory } from './backend.ts';
import { amdSmi, rocmSmi } from './amd/index.ts';
import { neuronMonitor } from './aws/index.ts';
import { hlSmi } from './habana/index.ts';
import { xpuSmi } from './intel/index.ts';
import { nvidiaSmi, nvml } from './nvidia/index.ts';

// nvml comes before nvidia-smi, which it supersedes: its first sample starts first.
export const BACKEND_FACTORIES: readonly BackendFactory<any>[] = [nvml, nvidiaSmi, amdSmi, rocmSmi, xpuSmi, hlSmi, neuronMonitor];
