import type { BackendFactory } from './backend.ts';
import { nvidiaSmiFactory } from './nvidia-smi.ts';
import { nvmlFactory } from './nvml.ts';
import { amdSmiFactory } from './amd-smi.ts';
import { rocmSmiFactory } from './rocm-smi.ts';
import { hlSmiFactory } from './hl-smi.ts';
import { xpuSmiFactory } from './xpu-smi.ts';
import { neuronMonitorFactory } from './neuron-monitor.ts';

/**
 * Every backend the exporter knows; --backend.<name> flags come from this list. nvml comes
 * before nvidia-smi, which it supersedes: its first sample starts first.
 */
export const BACKEND_FACTORIES: readonly BackendFactory[] = [nvmlFactory, nvidiaSmiFactory, amdSmiFactory, rocmSmiFactory, xpuSmiFactory, hlSmiFactory, neuronMonitorFactory];
