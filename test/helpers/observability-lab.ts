// A two-node monitoring setup on loopback: two real exporters replaying the
// H100 capture through the fake nvidia-smi (gpu-node-a under load with two
// GPUs; gpu-node-b idle with three, the last one fallen off the bus), the
// attribution stand-in for their per-workload series, and a real Prometheus
// scraping all of them every second with the shipped rules loaded.

import path from 'node:path';
import { FAKE_TOOLS, FIXTURES, ROOT, startExporter, type RunningExporter } from './exporter.ts';
import { prometheusConfig, startAttributionStandin, startPrometheus, type RunningPrometheus, type ScrapeTarget } from './prometheus.ts';

export const JOB = 'accelerator-exporter';
export const NODES = ['gpu-node-a', 'gpu-node-b'] as const;
export const RULES = path.join(ROOT, 'alerts/accelerator.rules.yaml');

const CAPTURE = path.join(FIXTURES, 'nvidia/capture_h100-80gb-hbm3_590.48.01_linux.txt');
const NODE_ENV: Record<(typeof NODES)[number], Record<string, string>> = {
  'gpu-node-a': { FAKE_NVIDIA_SMI_GPUS: '2' },
  'gpu-node-b': { FAKE_NVIDIA_SMI_GPUS: '3', FAKE_NVIDIA_SMI_STATE: 'idle', FAKE_NVIDIA_SMI_MODE: 'lost-gpu' },
};

export interface Lab {
  readonly prometheus: RunningPrometheus;
  readonly exporters: ReadonlyMap<string, RunningExporter>;
  stop(): Promise<void>;
}

export async function startLab(): Promise<Lab> {
  const exporters = new Map<string, RunningExporter>();
  const cleanups: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  };
  try {
    for (const node of NODES) {
      // No kubelet runs here: attribution is off on the real exporters (else AcceleratorAttributionFailing
      // would rightly go pending), and the per-workload series come from the stand-in below.
      const e = await startExporter(['--collect.interval=1s', '--no-attribution', `--nvidia-smi.path=${path.join(FAKE_TOOLS, 'nvidia-smi')}`], {
        FAKE_NVIDIA_SMI_CAPTURE: CAPTURE,
        ...NODE_ENV[node],
      });
      cleanups.push(() => e.stop());
      exporters.set(node, e);
    }
    const standin = await startAttributionStandin(NODES);
    cleanups.push(() => standin.close());
    const targets: ScrapeTarget[] = [
      ...NODES.map((node) => ({ address: new URL(exporters.get(node)!.url).host, labels: { node } })),
      // One job, like the exporter's own series will be once attribution lands.
      ...NODES.map((node) => ({ address: standin.address, labels: { node, __metrics_path__: standin.pathFor(node), role: 'attribution-standin' } })),
    ];
    const prometheus = await startPrometheus(prometheusConfig(JOB, targets, [RULES]));
    cleanups.push(() => prometheus.stop());
    return { prometheus, exporters, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
