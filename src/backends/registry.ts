import type { BackendFactory } from './backend.ts';
import { nvidiaSmiFactory } from './nvidia-smi.ts';
import { amdSmiFactory } from './amd-smi.ts';
import { rocmSmiFactory } from './rocm-smi.ts';
import { hlSmiFactory } from './hl-smi.ts';
import { xpuSmiFactory } from './xpu-smi.ts';
import { neuronMonitorFactory } from './neuron-monitor.ts';

/** Every backend the exporter knows; --backend.<name> flags come from this list. */
export const BACKEND_FACTORIES: readonly BackendFactory[] = [nvidiaSmiFactory, amdSmiFactory, rocmSmiFactory, xpuSmiFactory, hlSmiFactory, neuronMonitorFactory];
