// npm run demo: the exporter on replayed captures (three "nodes", two with a
// fake kubelet and pods: test/helpers/lab-cluster.ts) and a real Prometheus
// with the shipped rules, all on loopback, until Ctrl-C. Needs Debian's prometheus package (/usr/bin/prometheus).

import { NODES, startLab } from '../test/helpers/observability-lab.ts';
import { prometheusAvailable } from '../test/helpers/prometheus.ts';

if (!prometheusAvailable()) {
  console.error('prometheus is not installed (apt-get install prometheus, or set PROMETHEUS_BIN)');
  process.exit(1);
}

const lab = await startLab();
const p = lab.prometheus.url;
const q = (expr: string) => `${p}/graph?g0.expr=${encodeURIComponent(expr)}&g0.tab=1`;
console.log(`
accelerator-exporter demo (Ctrl-C to stop)

Exporters (fake nvidia-smi replaying the H100 capture, fake kubelet, workload attribution on):
${NODES.map((n) => `  ${n}: ${lab.exporters.get(n)!.url}/metrics`).join('\n')}
  gpu-node-a: two GPUs under load (DRA): gpu-0 held by ml/train-0 alone, gpu-1 shared by
    the two serve/infer pods (per-pod memory, no per-pod utilisation on a shared GPU).
  gpu-node-b: idle, three GPUs, the last one fallen off the bus; notebooks/jupyter-alice
    holds an idle one (device plugin, time-sliced four ways: 12 allocatable).
  gpu-node-c: one GPU in MIG mode, attribution off (as components/non-root runs it).

Scraped with the configuration the Prometheus Operator generates from daemonset/base/servicemonitor.yaml.

Prometheus: ${p}
  Targets:  ${p}/targets
  Rules:    ${p}/rules
  Alerts:   ${p}/alerts   (AcceleratorDeviceLost fires after 1 minute; AcceleratorAllocatedIdle after 30)
  Per pod:  ${q('namespace_pod:accelerator_utilization:avg')}
            ${q('namespace_pod:accelerator_memory_usage_bytes:sum')}
  Devices:  ${q('hw_gpu_utilization_ratio')}

Grafana: add ${p} as a Prometheus data source and import dashboards/*.json.
`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  console.log('stopping');
  await lab.stop();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
