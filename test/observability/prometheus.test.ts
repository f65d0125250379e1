// End to end against a real Prometheus: two real exporters (fake nvidia-smi
// replaying the H100 capture) and the attribution stand-in are scraped every
// second with the shipped rules loaded. Every dashboard query (variables
// substituted the way Grafana does), every recording rule and the
// prometheus-adapter and KEDA queries must return data, and every rule must
// evaluate without error.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DASHBOARDS } from '../../dashboards/src/generated.ts';
import { queries } from '../../dashboards/src/grafana.ts';
import { ROOT, waitFor } from '../helpers/exporter.ts';
import { JOB, RULES, startLab, type Lab } from '../helpers/observability-lab.ts';
import { prometheusAvailable, resultSize, type QueryResult } from '../helpers/prometheus.ts';
import { recordNames } from '../helpers/rules-file.ts';

const MODEL = 'NVIDIA H100 80GB HBM3';

/** What Grafana puts in place of each variable with everything selected ("(a|b)" for multi-value). */
const VARIABLES: Record<string, string> = {
  $__rate_interval: '1m',
  $__range_s: '3600',
  $__range: '1h',
  $datasource: 'prometheus',
  $node: '(gpu-node-a|gpu-node-b)',
  $vendor: 'nvidia',
  $model: MODEL,
  $namespace: '(ml|notebooks|serve)',
  $job: JOB,
};

function substitute(expr: string): string {
  // Longest names first: $__range_s before $__range.
  let out = expr;
  for (const name of Object.keys(VARIABLES).sort((a, b) => b.length - a.length)) out = out.split(name).join(VARIABLES[name]!);
  assert.doesNotMatch(out, /\$/, `unsubstituted variable in ${out}`);
  return out;
}

const skip = !prometheusAvailable() && !process.env.CI ? 'prometheus is not installed (apt-get install prometheus)' : false;

async function dataFrom(lab: Lab, expr: string): Promise<QueryResult> {
  return waitFor(`data from ${expr}`, async () => {
    const r = await lab.prometheus.query(expr);
    return resultSize(r) > 0 && r;
  });
}

function vector(r: QueryResult): { metric: Record<string, string>; value: number }[] {
  assert.equal(r.resultType, 'vector');
  return (r.result as { metric: Record<string, string>; value: [number, string] }[]).map((s) => ({ metric: s.metric, value: Number(s.value[1]) }));
}

describe('observability against a real Prometheus', { skip }, () => {
  let lab: Lab;
  before(async () => {
    lab = await startLab();
  });
  after(async () => {
    await lab?.stop();
  });

  it('scrapes the exporters and the stand-in with their labels intact', async () => {
    await waitFor('every target up', async () => {
      const up = vector(await lab.prometheus.query(`up{job="${JOB}"}`));
      return up.length === 4 && up.every((s) => s.value === 1);
    });
    // honor_labels: the stand-in's own namespace/pod survive, not exported_*.
    const alloc = vector(await dataFrom(lab, 'accelerator_allocation_info{namespace="serve"}'));
    assert.equal(alloc.length, 2);
    assert.ok(alloc.every((s) => s.metric.pod?.startsWith('infer-') && s.metric.node === 'gpu-node-a' && !('exported_namespace' in s.metric)));
  });

  it('answers every dashboard variable with the values Grafana would offer', async () => {
    const expected: Record<string, string[]> = {
      node: ['gpu-node-a', 'gpu-node-b'],
      vendor: ['nvidia'],
      model: [MODEL],
      namespace: ['ml', 'notebooks', 'serve'],
      job: [JOB],
    };
    for (const [file, spec] of Object.entries(DASHBOARDS)) {
      for (const v of spec.variables) {
        const m = /^label_values\((.+), (\w+)\)$/.exec(v.query);
        assert.ok(m, `${file} ${v.name}: expected label_values(selector, label)`);
        const values = await waitFor(`${file} variable ${v.name}`, async () => {
          const got = await lab.prometheus.api<string[]>(`/api/v1/label/${m[2]}/values?match[]=${encodeURIComponent(substitute(m[1]!))}`);
          return got.length === expected[v.name]!.length && got;
        });
        assert.deepEqual(values, expected[v.name], `${file} variable ${v.name}`);
      }
    }
  });

  for (const [file, spec] of Object.entries(DASHBOARDS)) {
    it(`returns data for every query of ${file}`, async () => {
      const all = queries(spec);
      assert.ok(all.length > 5);
      await Promise.all(
        all.map(async ({ panel, target }) => {
          const expr = substitute(target.expr);
          if (target.emptyOnTestDevices) {
            // Still has to be a query Prometheus accepts.
            await lab.prometheus.query(expr);
            return;
          }
          await dataFrom(lab, expr).catch((err: Error) => assert.fail(`${panel}: ${expr}\n${err.message}`));
        }),
      );
    });
  }

  it('records every recording rule', async () => {
    const names = recordNames(readFileSync(RULES, 'utf8'));
    assert.ok(names.length >= 9);
    for (const name of names) await dataFrom(lab, name);
    // Rules evaluate every second; the idle node's pod appears once its first scrape has been recorded.
    const perPod = await waitFor('a recorded value for every pod', async () => {
      const v = vector(await lab.prometheus.query('namespace_pod:accelerator_utilization:avg'));
      return v.length === 4 && v;
    });
    assert.deepEqual(
      Object.fromEntries(perPod.map((s) => [`${s.metric.namespace}/${s.metric.pod}`, s.value])),
      { 'ml/train-0': 0.9, 'serve/infer-6d8f7c9b5-k2x7q': 0.25, 'serve/infer-6d8f7c9b5-p9w4n': 0.15, 'notebooks/jupyter-alice': 0 },
    );
    const nsDevices = vector(await dataFrom(lab, 'namespace:accelerator_allocated_devices:count{namespace="serve"}'));
    assert.equal(nsDevices[0]?.value, 1, 'two pods sharing one device count it once');
  });

  it('evaluates every rule without error, and sees the lost GPU', async () => {
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
    const expected = new Set(['AcceleratorAllocatedIdle', 'AcceleratorDeviceLost']);
    assert.deepEqual(alerts.filter((a) => !expected.has(a.labels.alertname!)), [], 'no other alert is even pending');
  });

  it('serves one value per pod through the prometheus-adapter queries, rendered as the adapter renders them', async () => {
    const rules = readFileSync(path.join(ROOT, 'hpa/prometheus-adapter-rules.yaml'), 'utf8');
    const items = [...rules.matchAll(/seriesQuery: '([^'{]+)\{[^']*'[\s\S]*?as: "(\w+)"\s+metricsQuery: '([^']+)'/g)].map((m) => ({
      series: m[1]!,
      as: m[2]!,
      metricsQuery: m[3]!,
    }));
    assert.deepEqual(
      items.map((i) => i.as),
      ['accelerator_utilization', 'accelerator_memory_usage_bytes'],
    );
    const expected: Record<string, Record<string, number>> = {
      accelerator_utilization: { 'infer-6d8f7c9b5-k2x7q': 0.25, 'infer-6d8f7c9b5-p9w4n': 0.15 },
      accelerator_memory_usage_bytes: { 'infer-6d8f7c9b5-k2x7q': 12884901888, 'infer-6d8f7c9b5-p9w4n': 7895777280 },
    };
    for (const item of items) {
      // What the adapter sends for GET .../namespaces/serve/pods/*/<metric> over the HPA's pods.
      const expr = item.metricsQuery
        .replace('<<.Series>>', item.series)
        .replace('<<.LabelMatchers>>', 'namespace="serve",pod=~"infer-6d8f7c9b5-k2x7q|infer-6d8f7c9b5-p9w4n"')
        .replace('<<.GroupBy>>', 'pod');
      const got = vector(await dataFrom(lab, expr));
      assert.deepEqual(Object.fromEntries(got.map((s) => [s.metric.pod, s.value])), expected[item.as], expr);
      assert.deepEqual(Object.keys(got[0]!.metric), ['pod'], 'the adapter maps the pod label back to the pod');
    }
  });

  it('answers the KEDA ScaledObject query with the sum over the deployment', async () => {
    const keda = readFileSync(path.join(ROOT, 'hpa/keda-scaledobject.yaml'), 'utf8');
    const expr = /\n\s+query: (.+)\n/.exec(keda)![1]!;
    const got = vector(await dataFrom(lab, expr));
    assert.equal(got.length, 1);
    assert.ok(Math.abs(got[0]!.value - 0.4) < 1e-9, `${expr} = ${got[0]!.value}`);
  });
});
