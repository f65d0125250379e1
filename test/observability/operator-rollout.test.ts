// Exporter rollouts under the scrape configurations the Prometheus Operator
// generates (test/helpers/prometheus-operator.ts), against a real Prometheus:
// - from our PodMonitor (components/podmonitor): the exporter pod's target
//   labels are dropped, so a new pod continues the same series;
// - from a monitor that keeps the Operator's target labels (ours without its
//   labeldrop, as a hand-written or older monitor would be): every device gets
//   a second series under the new `pod` label, and the rules and dashboards
//   must still evaluate, because they aggregate the side they join to.
// prometheus.test.ts runs the full checks with our ServiceMonitor.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../helpers/exporter.ts';
import { assertDashboardsAnswer, assertRulesHealthy, byPod, dataFrom, exporterTargetLabels, rollAndWait, vector, waitForWorkloads } from '../helpers/lab-checks.ts';
import { JOB, startLab, type Lab, type NodeName } from '../helpers/observability-lab.ts';
import { EXPORTER_NAMESPACE, POD_MONITOR_FILE, readMonitor, SERVICE_MONITOR_FILE, type Monitor } from '../helpers/prometheus-operator.ts';
import { prometheusAvailable, resultSize } from '../helpers/prometheus.ts';

const skip = !prometheusAvailable() && !process.env.CI ? 'prometheus is not installed (apt-get install prometheus)' : false;
const NODES: readonly NodeName[] = ['gpu-node-a', 'gpu-node-b'];

/** Series per (node, uuid) over the last ten minutes: 1 when a rollout continued the series. */
async function seriesPerDevice(lab: Lab): Promise<number[]> {
  const r = vector(await dataFrom(lab, 'count by (node, uuid) (last_over_time(hw_gpu_utilization_ratio[10m]))'));
  return [...new Set(r.map((s) => s.value))];
}

async function checksAfterRollout(lab: Lab, since: number): Promise<void> {
  assert.ok((await assertRulesHealthy(lab, since)) >= 25);
  await waitForWorkloads(lab);
  await assertDashboardsAnswer(lab);
  const perPod = await waitFor('both sole holders recorded again', async () => {
    const r = await lab.prometheus.query('namespace_pod:accelerator_utilization:avg');
    return resultSize(r) === 2 && r;
  });
  assert.deepEqual(byPod(perPod), { 'ml/train-0': 1, 'notebooks/jupyter-alice': 0 });
  // The idle notebook's alert is evaluated, once, from the join over 30 minutes of utilisation.
  const idle = vector(await dataFrom(lab, 'count by (node, namespace, pod) (ALERTS{alertname="AcceleratorAllocatedIdle"})'));
  assert.deepEqual(
    idle.map((s) => `${s.metric.node} ${s.metric.namespace}/${s.metric.pod} ${s.value}`),
    ['gpu-node-b notebooks/jupyter-alice 1'],
  );
}

describe('a rollout under the scrape config generated from our PodMonitor', { skip }, () => {
  let lab: Lab;
  before(async () => {
    lab = await startLab({ monitor: readMonitor(POD_MONITOR_FILE), nodes: NODES });
  });
  after(async () => {
    await lab?.stop();
  });

  it('continues every series under the new pod, with every rule and query healthy', async () => {
    await waitFor('both exporters up', async () => vector(await lab.prometheus.query(`up{job="${JOB}"} == 1`)).length === 2, 60_000);
    assert.deepEqual(await exporterTargetLabels(lab), Object.fromEntries(NODES.map((node) => [node, { instance: node, job: JOB, node }])));
    await dataFrom(lab, 'ALERTS{alertname="AcceleratorAllocatedIdle"}', 120_000);
    const since = Date.now();
    await rollAndWait(lab, NODES);
    assert.deepEqual(await seriesPerDevice(lab), [1]);
    await checksAfterRollout(lab, since);
  });
});

describe('a rollout under a monitor that keeps the exporter pod labels', { skip }, () => {
  let lab: Lab;
  before(async () => {
    const ours = readMonitor(SERVICE_MONITOR_FILE);
    const ep = ours.spec.endpoints![0]!;
    const keeping: Monitor = { ...ours, spec: { ...ours.spec, endpoints: [{ ...ep, relabelings: ep.relabelings!.filter((r) => r.action !== 'labeldrop') }] } };
    assert.equal(keeping.spec.endpoints![0]!.relabelings!.length, ep.relabelings!.length - 1);
    lab = await startLab({ monitor: keeping, nodes: NODES });
  });
  after(async () => {
    await lab?.stop();
  });

  it('gives every device a second series, and every rule and query still evaluates with the right result', async () => {
    await waitFor('both exporters up', async () => vector(await lab.prometheus.query(`up{job="${JOB}"} == 1`)).length === 2, 60_000);
    const podBefore = lab.pods.get('gpu-node-b')!;
    assert.deepEqual((await exporterTargetLabels(lab))['gpu-node-b'], {
      container: 'exporter',
      endpoint: 'metrics',
      instance: 'gpu-node-b',
      job: JOB,
      namespace: EXPORTER_NAMESPACE,
      node: 'gpu-node-b',
      pod: podBefore,
      service: 'accelerator-exporter',
    });
    await dataFrom(lab, 'ALERTS{alertname="AcceleratorAllocatedIdle"}', 120_000);
    const since = Date.now();
    await rollAndWait(lab, NODES);
    // The situation the rules must survive: two series per device within a 10-minute range.
    assert.deepEqual(await seriesPerDevice(lab), [2]);
    const pods = vector(await lab.prometheus.query('count by (pod) (last_over_time(hw_gpu_utilization_ratio{node="gpu-node-b"}[10m]))'));
    assert.deepEqual(pods.map((s) => s.metric.pod).sort(), [podBefore, lab.pods.get('gpu-node-b')!].sort());
    await checksAfterRollout(lab, since);
  });
});
