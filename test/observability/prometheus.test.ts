// End to end against a real Prometheus: three real exporters (fake nvidia-smi
// replaying the H100 captures, fake kubelets, a fake Kubernetes API and procfs
// fixtures placing the capture's processes in pods: test/helpers/lab-cluster.ts;
// one node with attribution off) are scraped every second, with the scrape
// configuration the Prometheus Operator generates from our ServiceMonitor, and
// the shipped rules loaded. Every dashboard query (variables substituted the
// way Grafana does), every recording rule and the prometheus-adapter and KEDA
// queries must return data, and every rule must evaluate without error,
// before and after the exporter pods are rolled.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { DASHBOARDS } from '../../dashboards/src/generated.ts';
import { ROOT, waitFor } from '../helpers/exporter.ts';
import { INFER_PODS } from '../helpers/lab-cluster.ts';
import { alerts, assertDashboardsAnswer, assertRulesHealthy, byPod, dataFrom, exporterTargetLabels, MODEL, rollAndWait, substitute, vector, waitForWorkloads } from '../helpers/lab-checks.ts';
import { ALLOCATABLE, JOB, NODES, RULES, startLab, type Lab } from '../helpers/observability-lab.ts';
import { prometheusAvailable, resultSize, type QueryResult } from '../helpers/prometheus.ts';
import { recordNames } from '../helpers/rules-file.ts';

const MIB = 1024 * 1024;
/** Per-process memory of the H100 load capture: memhog 2566 and 1542 MiB, gpu_burn 15690 MiB. */
const TRAIN_MEMORY = (2566 + 1542 + 15690) * MIB;
const INFER_MEMORY = { [INFER_PODS[0]]: (2566 + 1542) * MIB, [INFER_PODS[1]]: 15690 * MIB };

/** Pending only because a loaded test machine makes the fake nvidia-smi slower than 5 s. */
const SLOW_MACHINE = ['AcceleratorExporterSlowSamples'];

const skip = !prometheusAvailable() && !process.env.CI ? 'prometheus is not installed (apt-get install prometheus)' : false;

describe('observability against a real Prometheus', { skip }, () => {
  let lab: Lab;
  before(async () => {
    lab = await startLab();
  });
  after(async () => {
    await lab?.stop();
  });

  it('scrapes the exporters with the workload labels they attribute intact and none of the exporter pod\'s', async () => {
    await waitFor('every target up', async () => {
      const up = vector(await lab.prometheus.query(`up{job="${JOB}"}`));
      return up.length === NODES.length && up.every((s) => s.value === 1);
    });
    // The Operator's namespace/pod/container/service/endpoint target labels are dropped by our
    // ServiceMonitor; job comes from its jobLabel, node and instance from the pod's node.
    assert.deepEqual(await exporterTargetLabels(lab), Object.fromEntries(NODES.map((node) => [node, { instance: node, job: JOB, node }])));
    const device = vector(await dataFrom(lab, 'hw_gpu_utilization_ratio{node="gpu-node-a"}'));
    assert.deepEqual(Object.keys(device[0]!.metric).sort(), ['__name__', 'gpu', 'instance', 'job', 'model', 'node', 'pci_bus_id', 'uuid', 'vendor']);
    // gpu-node-c runs with attribution off (components/non-root): no kubelet series at all.
    const selfMetrics = vector(await dataFrom(lab, 'accelerator_exporter_kubelet_up'));
    assert.deepEqual(Object.fromEntries(selfMetrics.map((s) => [s.metric.node, s.value])), { 'gpu-node-a': 1, 'gpu-node-b': 1 });
    // Only gpu-node-a is given API access (for pod names and DRA ResourceSlices).
    const api = vector(await dataFrom(lab, 'accelerator_exporter_kubernetes_api_up == 1'));
    assert.deepEqual(api.map((s) => s.metric.node), ['gpu-node-a']);
    // Both serve pods hold gpu-1 through the one DRA claim they share; honor_labels keeps the
    // exporter's namespace/pod (not exported_*), empty labels (resource) are dropped.
    const alloc = await waitFor('both serve pods allocated', async () => {
      const v = vector(await lab.prometheus.query('accelerator_allocation_info{namespace="serve"}'));
      return v.length === 2 && v;
    });
    const { __name__: _, instance: __, ...labels } = alloc[0]!.metric;
    assert.deepEqual(labels, {
      job: JOB,
      node: 'gpu-node-a',
      uuid: 'GPU-00000000-0000-0000-0000-000000000001',
      namespace: 'serve',
      pod: INFER_PODS[0],
      container: 'server',
      claim_namespace: 'serve',
      claim: 'infer-shared-gpu',
      dra_driver: 'gpu.nvidia.com',
      dra_pool: 'gpu-node-a',
      dra_device: 'gpu-1',
    });
    assert.equal(alloc[1]!.metric.pod, INFER_PODS[1]);
    const attributedProcesses = vector(await dataFrom(lab, 'sum by (node) (accelerator_exporter_unattributed_processes)'));
    assert.ok(attributedProcesses.every((s) => s.value === 0), 'every process of the capture lands in a pod');
  });

  it('answers every dashboard variable with the values Grafana would offer', async () => {
    const expected: Record<string, string[]> = {
      node: [...NODES],
      vendor: ['nvidia'],
      model: [MODEL],
      namespace: ['ml', 'notebooks', 'serve'],
      job: [JOB],
    };
    // The workloads dashboard lists nodes with allocations: gpu-node-c runs with attribution off.
    const want = (file: string, name: string) => (file === 'workloads.json' && name === 'node' ? ['gpu-node-a', 'gpu-node-b'] : expected[name]!);
    for (const [file, spec] of Object.entries(DASHBOARDS)) {
      for (const v of spec.variables) {
        const m = /^label_values\((.+), (\w+)\)$/.exec(v.query);
        assert.ok(m, `${file} ${v.name}: expected label_values(selector, label)`);
        const values = await waitFor(`${file} variable ${v.name}`, async () => {
          const got = await lab.prometheus.api<string[]>(`/api/v1/label/${m[2]}/values?match[]=${encodeURIComponent(substitute(m[1]!))}`);
          return got.length === want(file, v.name).length && got;
        });
        assert.deepEqual(values, want(file, v.name), `${file} variable ${v.name}`);
      }
    }
  });

  for (const file of Object.keys(DASHBOARDS)) {
    it(`returns data for every query of ${file}`, async () => {
      await assertDashboardsAnswer(lab, [file]);
    });
  }

  it('records every recording rule', async () => {
    const names = recordNames(readFileSync(RULES, 'utf8'));
    assert.ok(names.length >= 9);
    for (const name of names) await dataFrom(lab, name);
    // Rules evaluate every second; the idle node's pod appears once its first scrape has been recorded.
    // Utilisation only for pods holding their device alone (the load and the idle capture);
    // the serve pods share gpu-1 and have none, by design.
    const perPod = await waitFor('a recorded utilisation for both sole holders', async () => {
      const r = await lab.prometheus.query('namespace_pod:accelerator_utilization:avg');
      return resultSize(r) === 2 && r;
    });
    assert.deepEqual(byPod(perPod), { 'ml/train-0': 1, 'notebooks/jupyter-alice': 0 });
    // Memory from the capture's processes; the idle notebook runs none, so it has no memory series.
    const memory = await waitFor('a recorded memory for every pod with processes', async () => {
      const r = await lab.prometheus.query('namespace_pod:accelerator_memory_usage_bytes:sum');
      return resultSize(r) === 3 && r;
    });
    assert.deepEqual(byPod(memory), { 'ml/train-0': TRAIN_MEMORY, ...Object.fromEntries(INFER_PODS.map((p) => [`serve/${p}`, INFER_MEMORY[p]])) });
    const nsDevices = vector(await dataFrom(lab, 'namespace:accelerator_allocated_devices:count{namespace="serve"}'));
    assert.equal(nsDevices[0]?.value, 1, 'two pods sharing one device count it once');
  });

  it('evaluates every rule without error, sees the lost GPU, and takes time-sliced and MIG allocatable counts for healthy', async () => {
    // kube-state-metrics: 12 nvidia.com/gpu on gpu-node-b's 3 GPUs (4 replicas each), 7 MIG devices on gpu-node-c's one GPU.
    const allocatable = vector(await dataFrom(lab, 'sum by (node) (kube_node_status_allocatable{resource="nvidia_com_gpu"})'));
    assert.deepEqual(Object.fromEntries(allocatable.map((s) => [s.metric.node, s.value])), ALLOCATABLE);
    await dataFrom(lab, 'accelerator_device_up{node="gpu-node-c"} == 1');
    const lostPending = await waitFor('AcceleratorDeviceLost to be pending for gpu-node-b', async () => {
      const alerts = (await lab.prometheus.api<{ alerts: { labels: Record<string, string>; state: string }[] }>('/api/v1/alerts')).alerts;
      return alerts.find((a) => a.labels.alertname === 'AcceleratorDeviceLost' && a.labels.node === 'gpu-node-b');
    });
    assert.equal(lostPending.labels.pci_bus_id, '0000:12:09.0');
    assert.equal(lostPending.state, 'pending', 'for: 1m has not passed');
    type Rules = { groups: { rules: { name: string; health: string; lastError?: string; type: string }[] }[] };
    const rules = (await lab.prometheus.api<Rules>('/api/v1/rules')).groups.flatMap((g) => g.rules);
    assert.ok(rules.length >= 25);
    assert.deepEqual(
      rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`),
      [],
    );
    // Nothing fires yet; pending are the lost GPU and the notebook holding an idle GPU (for: 30m).
    type Alert = { labels: Record<string, string>; state: string };
    const alerts = (await lab.prometheus.api<{ alerts: Alert[] }>('/api/v1/alerts')).alerts;
    assert.deepEqual(alerts.filter((a) => a.state === 'firing'), []);
    const idle = await waitFor('AcceleratorAllocatedIdle to be pending', async () => {
      const all = (await lab.prometheus.api<{ alerts: Alert[] }>('/api/v1/alerts')).alerts;
      const found = all.filter((a) => a.labels.alertname === 'AcceleratorAllocatedIdle');
      return found.length > 0 && found;
    });
    assert.deepEqual(
      idle.map((a) => `${a.labels.node} ${a.labels.namespace}/${a.labels.pod}`),
      ['gpu-node-b notebooks/jupyter-alice'],
    );
    // Not even pending: AcceleratorFewerThanAllocatable (time-slicing, MIG), AcceleratorAttributionFailing (gpu-node-c).
    const expected = new Set(['AcceleratorAllocatedIdle', 'AcceleratorDeviceLost', ...SLOW_MACHINE]);
    assert.deepEqual(alerts.filter((a) => !expected.has(a.labels.alertname!)), [], 'no other alert is even pending');
  });

  it('serves one value per pod through the prometheus-adapter queries, rendered as the adapter renders them; none for utilisation on a shared GPU', async () => {
    // The adapter's --config file; test/unit/hpa-files.test.ts holds the Helm values to the same rules.
    const config = parse(readFileSync(path.join(ROOT, 'hpa/prometheus-adapter-config.yaml'), 'utf8')) as { rules: { seriesQuery: string; name: { as: string }; metricsQuery: string }[] };
    const items = config.rules.map((r) => ({ series: r.seriesQuery.slice(0, r.seriesQuery.indexOf('{')), as: r.name.as, metricsQuery: r.metricsQuery }));
    assert.deepEqual(
      items.map((i) => i.as),
      ['accelerator_utilization', 'accelerator_memory_usage_bytes'],
    );
    // What the adapter sends for GET .../namespaces/<ns>/pods/*/<metric> over the HPA's pods.
    const render = (as: string, namespace: string, pods: readonly string[]) => {
      const item = items.find((i) => i.as === as)!;
      return item.metricsQuery
        .replace('<<.Series>>', item.series)
        .replace('<<.LabelMatchers>>', `namespace="${namespace}",pod=~"${pods.join('|')}"`)
        .replace('<<.GroupBy>>', 'pod');
    };
    const perPod = async (expr: string) => {
      const got = vector(await dataFrom(lab, expr));
      assert.ok(got.every((s) => Object.keys(s.metric).join() === 'pod'), 'the adapter maps the pod label back to the pod');
      return Object.fromEntries(got.map((s) => [s.metric.pod, s.value]));
    };
    // The shared-GPU deployment: memory per pod (what hpa/hpa-example.yaml scales on) ...
    assert.deepEqual(await perPod(render('accelerator_memory_usage_bytes', 'serve', INFER_PODS)), INFER_MEMORY);
    // ... and no utilisation, so an HPA on it would get no value (the adapter answers "not found").
    const sharedUtil = render('accelerator_utilization', 'serve', INFER_PODS);
    await dataFrom(lab, render('accelerator_memory_usage_bytes', 'ml', ['train-0'])); // the rules have run
    assert.equal(resultSize(await lab.prometheus.query(sharedUtil)), 0, sharedUtil);
    // A pod holding its GPU alone has both.
    assert.deepEqual(await perPod(render('accelerator_utilization', 'ml', ['train-0'])), { 'train-0': 1 });
    assert.deepEqual(await perPod(render('accelerator_memory_usage_bytes', 'ml', ['train-0'])), { 'train-0': TRAIN_MEMORY });
  });

  it('answers the KEDA ScaledObject query with the sum over the deployment', async () => {
    const keda = readFileSync(path.join(ROOT, 'hpa/keda-scaledobject.yaml'), 'utf8');
    const expr = /\n\s+query: (.+)\n/.exec(keda)![1]!;
    const got = vector(await dataFrom(lab, expr));
    assert.equal(got.length, 1);
    assert.equal(got[0]!.value, INFER_MEMORY[INFER_PODS[0]]! + INFER_MEMORY[INFER_PODS[1]]!, expr);
    const threshold = Number(/\n\s+threshold: "(\d+)"/.exec(keda)![1]);
    assert.equal(Math.ceil(got[0]!.value / threshold), 2, "the replica count the file's comment promises");
  });

  it('answers the joins of docs/promql.md with the results it quotes, and refuses the join it warns against', async () => {
    const doc = readFileSync(path.join(ROOT, 'docs/promql.md'), 'utf8');
    const section = (title: string) => doc.slice(doc.indexOf(`### ${title}`)).split('\n### ')[0]!;
    const block = (title: string, lang = 'promql') => new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(section(title))![1]!.trim();
    const byWorkload = vector(await dataFrom(lab, block('A device metric by workload')));
    assert.deepEqual(
      Object.fromEntries(byWorkload.map((s) => [`${s.metric.namespace}/${s.metric.pod}/${s.metric.container}`, s.value])),
      { 'ml/train-0/trainer': 1, [`serve/${INFER_PODS[0]}/server`]: 1, [`serve/${INFER_PODS[1]}/server`]: 1, 'notebooks/jupyter-alice/notebook': 0 },
    );
    const naive = /```\n(hw_gpu_utilization_ratio \* on[^\n]+)\n```/.exec(section('A device metric by workload'))![1]!;
    await assert.rejects(lab.prometheus.query(naive), /many-to-many matching not allowed/);
    // The doc's 24h window in 1m steps, shortened for the lab as the doc says: 30s in 10s steps.
    const hours = block('Accelerator hours per namespace');
    assert.ok(hours.includes('[24h:1m])) / 60'));
    const short = hours.replace('[24h:1m])) / 60', '[30s:10s])) / 360');
    const got = await waitFor('three namespaces with 30 seconds of devices', async () => {
      const v = vector(await lab.prometheus.query(short));
      return v.length === 3 && v.every((s) => Math.abs(s.value - 30 / 3600) < 1e-9) && v;
    }, 60_000);
    assert.deepEqual(got.map((s) => s.metric.namespace).sort(), ['ml', 'notebooks', 'serve']);
    const idle = vector(await dataFrom(lab, block('Idle but allocated')));
    assert.deepEqual(idle.map((s) => `${s.metric.node} ${s.metric.namespace}/${s.metric.pod} ${s.metric.model}`), [`gpu-node-b notebooks/jupyter-alice ${MODEL}`]);
  });

  it('keeps one series per device, every rule healthy and every query answering across a rollout of every exporter pod', async () => {
    const before = Date.now();
    const podsBefore = new Map(lab.pods);
    await rollAndWait(lab, NODES);
    for (const node of NODES) assert.notEqual(lab.pods.get(node), podsBefore.get(node));
    assert.deepEqual(await exporterTargetLabels(lab), Object.fromEntries(NODES.map((node) => [node, { instance: node, job: JOB, node }])));
    // Over a range covering both pods: the old pod's series and the new pod's are one series.
    const perDevice = vector(await lab.prometheus.query('count by (node, uuid) (last_over_time(hw_gpu_utilization_ratio[10m])) > 1'));
    assert.deepEqual(perDevice, [], 'a second series per device after the rollout');
    assert.ok((await assertRulesHealthy(lab, before)) >= 25);
    await waitForWorkloads(lab);
    await assertDashboardsAnswer(lab);
    // The recorded values are the same as before the rollout.
    const perPod = await waitFor('both sole holders recorded again', async () => {
      const r = await lab.prometheus.query('namespace_pod:accelerator_utilization:avg');
      return resultSize(r) === 2 && r;
    });
    assert.deepEqual(byPod(perPod), { 'ml/train-0': 1, 'notebooks/jupyter-alice': 0 });
    const idle = vector(await dataFrom(lab, 'count by (node, namespace, pod) (ALERTS{alertname="AcceleratorAllocatedIdle"})'));
    assert.deepEqual(idle.map((s) => `${s.metric.node} ${s.metric.namespace}/${s.metric.pod} ${s.value}`), ['gpu-node-b notebooks/jupyter-alice 1']);
    const expected = new Set(['AcceleratorAllocatedIdle', 'AcceleratorDeviceLost', ...SLOW_MACHINE]);
    assert.deepEqual((await alerts(lab)).filter((a) => !expected.has(a.labels.alertname!)), [], 'no other alert is even pending');
  });
});
