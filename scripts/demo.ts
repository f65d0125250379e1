// npm run demo: the exporter on replayed captures (two "nodes"), the
// attribution stand-in and a real Prometheus with the shipped rules, all on
// loopback, until Ctrl-C. Needs Debian's prometheus package (/usr/bin/prometheus).

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

Exporters (fake nvidia-smi replaying the H100 capture):
${NODES.map((n) => `  ${n}: ${lab.exporters.get(n)!.url}/metrics`).join('\n')}
  gpu-node-a: two GPUs under load; gpu-node-b: idle, three GPUs, the last one fallen off the bus.
  Per-workload series come from a constructed stand-in (test/fixtures/attribution-standin).

Prometheus: ${p}
  Targets:  ${p}/targets
  Rules:    ${p}/rules
  Alerts:   ${p}/alerts   (AcceleratorDeviceLost fires after 1 minute; AcceleratorAllocatedIdle after 30)
  Per pod:  ${q('namespace_pod:accelerator_utilization:avg')}
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
