// Every backend the exporter knows, one line each; --backend.<name> and each
// backend's options, attribution's defaults and the DaemonSet's scheduling
// (tested) come from this list. Listing costs nothing: a backend's module is
// imported only when it is enabled.

import type { BackendFactory } from './backend.ts';
import { amdSmi, rocmSmi } from './amd/index.ts';
import { neuronMonitor } from './aws/index.ts';
import { hlSmi } from './habana/index.ts';
import { xpuSmi } from './intel/index.ts';
import { nvidiaSmi } from './nvidia/index.ts';

export const BACKEND_FACTORIES: readonly BackendFactory<any>[] = [nvidiaSmi, amdSmi, rocmSmi, xpuSmi, hlSmi, neuronMonitor];
