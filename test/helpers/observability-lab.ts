// A two-node monitoring setup on loopback: per node the real exporter with
// the fake nvidia-smi replaying the H100 capture (gpu-node-a under load with
// two GPUs; gpu-node-b idle with three, the last one fallen off the bus), a
// fake kubelet PodResources socket and, for gpu-node-a, a fake Kubernetes API
// and a procfs fixture tree (the workloads: test/helpers/lab-cluster.ts), and
// a real Prometheus scraping both every second with the shipped rules loaded.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FAKE_TOOLS, FIXTURES, ROOT, startExporter, type RunningExporter } from './exporter.ts';
import { fakeKubeApi } from './fake-kube-api.ts';
import { fakeKubelet } from './fake-kubelet.ts';
import { WORKLOADS } from './lab-cluster.ts';
import { prometheusConfig, startPrometheus, type RunningPrometheus, type ScrapeTarget } from './prometheus.ts';

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

/** `ruleFiles` replaces the shipped rules file (the dcgm-exporter test adds its compatibility rules). */
export async function startLab(opts: { ruleFiles?: readonly string[] } = {}): Promise<Lab> {
  const exporters = new Map<string, RunningExporter>();
  const cleanups: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  };
  try {
    for (const node of NODES) {
      const w = WORKLOADS[node];
      const kubelet = fakeKubelet(w.podResources);
      await kubelet.start();
      cleanups.push(() => kubelet.stop());
      const args = ['--collect.interval=1s', '--collect.timeout=20s', `--nvidia-smi.path=${path.join(FAKE_TOOLS, 'nvidia-smi')}`, `--kubelet.pod-resources-socket=${kubelet.socket}`, `--kubernetes.node-name=${node}`];
      if (w.procfs) args.push(`--path.procfs=${path.join(FIXTURES, w.procfs)}`);
      if (w.api) {
        // One fake API per node: it does not evaluate the exporter's spec.nodeName field selectors.
        const api = await fakeKubeApi();
        cleanups.push(() => api.close());
        api.set('pods', w.api.pods);
        api.set('resourceslices', w.api.resourceslices);
        api.set('resourceclaims', w.api.resourceclaims);
        const dir = mkdtempSync(path.join(tmpdir(), 'ae-lab-'));
        cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
        args.push(`--kubeconfig=${api.kubeconfig(dir)}`);
      }
      const e = await startExporter(args, { FAKE_NVIDIA_SMI_CAPTURE: CAPTURE, ...NODE_ENV[node] });
      cleanups.push(() => e.stop());
      exporters.set(node, e);
    }
    const targets: ScrapeTarget[] = NODES.map((node) => ({ address: new URL(exporters.get(node)!.url).host, labels: { node } }));
    const prometheus = await startPrometheus(prometheusConfig(JOB, targets, opts.ruleFiles ?? [RULES]));
    cleanups.push(() => prometheus.stop());
    return { prometheus, exporters, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
