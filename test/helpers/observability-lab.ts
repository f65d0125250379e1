// A three-node monitoring setup on loopback: per node the real exporter with
// the fake nvidia-smi replaying an H100 capture (gpu-node-a under load with
// two GPUs; gpu-node-b idle with three, the last one fallen off the bus;
// gpu-node-c one MIG-enabled GPU, attribution off as in
// daemonset/components/non-root), a fake kubelet PodResources socket and, for
// gpu-node-a, a fake Kubernetes API and a procfs fixture tree (the workloads:
// test/helpers/lab-cluster.ts); a fake kube-state-metrics serving the nodes'
// allocatable accelerators; and a real Prometheus with the shipped rules,
// scraping every second with the configuration the Prometheus Operator
// generates from our ServiceMonitor (or PodMonitor): test/helpers/prometheus-operator.ts.
// The exporters are file_sd targets carrying Kubernetes SD's meta labels, so
// an exporter pod can be rolled (a new pod name, a new process) mid-test.

import { once } from 'node:events';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FAKE_TOOLS, FIXTURES, ROOT, startExporter, type RunningExporter } from './exporter.ts';
import { fakeKubeApi } from './fake-kube-api.ts';
import { fakeKubelet } from './fake-kubelet.ts';
import { WORKLOADS, type NodeWorkloads } from './lab-cluster.ts';
import { operatorScrapeConfig, readMonitor, sdTargetGroup, SERVICE_MONITOR_FILE, type Monitor } from './prometheus-operator.ts';
import { startPrometheus, type RunningPrometheus } from './prometheus.ts';

/** The job label our monitors give every target (jobLabel: app.kubernetes.io/name). */
export const JOB = 'accelerator-exporter';
export const NODES = ['gpu-node-a', 'gpu-node-b', 'gpu-node-c'] as const;
export type NodeName = (typeof NODES)[number];
export const RULES = path.join(ROOT, 'alerts/accelerator.rules.yaml');

const H100 = path.join(FIXTURES, 'nvidia/capture_h100-80gb-hbm3_590.48.01_linux.txt');
const H100_MIG = path.join(FIXTURES, 'nvidia/capture_h100-80gb-hbm3-mig_590.48.01_linux.txt');
const NODE_ENV: Record<NodeName, Record<string, string>> = {
  'gpu-node-a': { FAKE_NVIDIA_SMI_CAPTURE: H100, FAKE_NVIDIA_SMI_GPUS: '2' },
  'gpu-node-b': { FAKE_NVIDIA_SMI_CAPTURE: H100, FAKE_NVIDIA_SMI_GPUS: '3', FAKE_NVIDIA_SMI_STATE: 'idle', FAKE_NVIDIA_SMI_MODE: 'lost-gpu' },
  'gpu-node-c': { FAKE_NVIDIA_SMI_CAPTURE: H100_MIG },
};

/**
 * kube-state-metrics' kube_node_status_allocatable for the lab's nodes. gpu-node-a uses
 * DRA only (no extended resource). gpu-node-b's device plugin time-slices its three GPUs
 * four ways (`replicas: 4`, resource not renamed): 12 on 3 GPUs. gpu-node-c's one GPU is
 * split into seven 1g.10gb MIG devices under the single strategy: 7 nvidia.com/gpu.
 */
export const ALLOCATABLE: Partial<Record<NodeName, number>> = { 'gpu-node-b': 12, 'gpu-node-c': 7 };

function kubeStateMetrics(): string {
  let out = '# HELP kube_node_status_allocatable The allocatable for different resources of a node that are available for scheduling.\n# TYPE kube_node_status_allocatable gauge\n';
  for (const [node, n] of Object.entries(ALLOCATABLE)) out += `kube_node_status_allocatable{node="${node}",resource="nvidia_com_gpu",unit="integer"} ${n}\n`;
  for (const node of NODES) out += `kube_node_status_allocatable{node="${node}",resource="cpu",unit="core"} 96\n`;
  return out;
}

export interface LabOptions {
  /** The monitor whose Operator-generated scrape config the lab uses; ours (the ServiceMonitor) by default. */
  readonly monitor?: Monitor;
  readonly nodes?: readonly NodeName[];
  /** Replaces the shipped rules file (the dcgm-exporter test adds its compatibility rules). */
  readonly ruleFiles?: readonly string[];
}

export interface Lab {
  readonly prometheus: RunningPrometheus;
  /** The exporter currently serving each node. */
  readonly exporters: ReadonlyMap<string, RunningExporter>;
  /** The exporter pod name each node has now. */
  readonly pods: ReadonlyMap<string, string>;
  /**
   * A DaemonSet rollout on these nodes: on each a new exporter process under a
   * new pod name replaces the old one in service discovery, then the old one stops.
   */
  roll(nodes: readonly NodeName[]): Promise<void>;
  stop(): Promise<void>;
}

/** Pod names the way the DaemonSet controller makes them: a 5-character suffix per pod. */
const SUFFIXES = ['x7k2p', 'q9m4t', 'b3n8w', 'h5r2z', 'c6v9d', 'm2j7s'];

export async function startLab(opts: LabOptions = {}): Promise<Lab> {
  const monitor = opts.monitor ?? readMonitor(SERVICE_MONITOR_FILE);
  const nodes = opts.nodes ?? NODES;
  const exporters = new Map<string, RunningExporter>();
  const pods = new Map<string, string>();
  const starts = new Map<string, () => Promise<RunningExporter>>();
  const cleanups: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    for (const e of exporters.values()) await e.stop().catch(() => {});
  };
  const dir = mkdtempSync(path.join(tmpdir(), 'ae-lab-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  const sdFile = path.join(dir, 'exporters.json');
  let podCount = 0;
  const writeTargets = () => {
    const groups = [...exporters].map(([node, e]) => sdTargetGroup(monitor.kind, { name: pods.get(node)!, node, address: new URL(e.url).host }));
    // Renamed into place: Prometheus never reads a half-written file.
    writeFileSync(`${sdFile}.tmp`, JSON.stringify(groups, null, 2));
    renameSync(`${sdFile}.tmp`, sdFile);
  };
  try {
    for (const node of nodes) {
      const w = (WORKLOADS as Partial<Record<string, NodeWorkloads>>)[node];
      // Sampling every 2s keeps three exporters and a rollout within a shared test machine's CPU.
      const args = ['--collect.interval=2s', '--collect.timeout=20s', `--nvidia-smi.path=${path.join(FAKE_TOOLS, 'nvidia-smi')}`, `--kubernetes.node-name=${node}`];
      if (!w) {
        // As daemonset/components/non-root runs it: no kubelet socket, attribution off.
        args.push('--no-attribution');
      } else {
        const kubelet = fakeKubelet(w.podResources);
        await kubelet.start();
        cleanups.push(() => kubelet.stop());
        args.push(`--kubelet.pod-resources-socket=${kubelet.socket}`);
        if (w.procfs) args.push(`--path.procfs=${path.join(FIXTURES, w.procfs)}`);
        if (w.api) {
          // One fake API per node: it does not evaluate the exporter's spec.nodeName field selectors.
          const api = await fakeKubeApi();
          cleanups.push(() => api.close());
          api.set('pods', w.api.pods);
          api.set('resourceslices', w.api.resourceslices);
          api.set('resourceclaims', w.api.resourceclaims);
          args.push(`--kubeconfig=${api.kubeconfig(dir)}`);
        }
      }
      starts.set(node, () => startExporter(args, NODE_ENV[node]));
      exporters.set(node, await starts.get(node)!());
      pods.set(node, `accelerator-exporter-${SUFFIXES[podCount++ % SUFFIXES.length]}`);
    }
    writeTargets();
    const ksm = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(kubeStateMetrics()));
    ksm.listen(0, '127.0.0.1');
    await once(ksm, 'listening');
    cleanups.push(async () => ksm.close());
    const config = {
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      rule_files: opts.ruleFiles ?? [RULES],
      scrape_configs: [
        operatorScrapeConfig(monitor, { interval: '1s', sdFile }),
        // kube-prometheus-stack scrapes kube-state-metrics with honorLabels: its node label stays.
        { job_name: 'kube-state-metrics', honor_labels: true, static_configs: [{ targets: [`127.0.0.1:${(ksm.address() as { port: number }).port}`] }] },
      ],
    };
    // JSON is YAML; Prometheus reads it as its config.
    const prometheus = await startPrometheus(JSON.stringify(config, null, 2));
    cleanups.push(() => prometheus.stop());
    const roll = async (rolled: readonly NodeName[]) => {
      const old = rolled.map((node) => exporters.get(node)!);
      const next = await Promise.all(rolled.map((node) => starts.get(node)!()));
      rolled.forEach((node, i) => {
        exporters.set(node, next[i]!);
        pods.set(node, `accelerator-exporter-${SUFFIXES[podCount++ % SUFFIXES.length]}`);
      });
      writeTargets();
      await Promise.all(old.map((e) => e.stop()));
    };
    return { prometheus, exporters, pods, roll, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
