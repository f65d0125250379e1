// Queries and checks the observability tests run against the lab's real
// Prometheus (test/helpers/observability-lab.ts).

import assert from 'node:assert/strict';
import { DASHBOARDS } from '../../dashboards/src/generated.ts';
import { queries } from '../../dashboards/src/grafana.ts';
import { waitFor } from './exporter.ts';
import { JOB, type Lab, type NodeName } from './observability-lab.ts';
import { resultSize, type QueryResult } from './prometheus.ts';

export const MODEL = 'NVIDIA H100 80GB HBM3';

/** What Grafana puts in place of each variable with everything selected ("(a|b)" for multi-value). */
export const VARIABLES: Record<string, string> = {
  $__rate_interval: '1m',
  $__range_s: '3600',
  $__range: '1h',
  $datasource: 'prometheus',
  $node: '(gpu-node-a|gpu-node-b|gpu-node-c)',
  $vendor: 'nvidia',
  $model: MODEL,
  $namespace: '(ml|notebooks|serve)',
  $job: JOB,
};

export function substitute(expr: string): string {
  // Longest names first: $__range_s before $__range.
  let out = expr;
  for (const name of Object.keys(VARIABLES).sort((a, b) => b.length - a.length)) out = out.split(name).join(VARIABLES[name]!);
  assert.doesNotMatch(out, /\$/, `unsubstituted variable in ${out}`);
  return out;
}

export async function dataFrom(lab: Lab, expr: string, deadlineMs?: number): Promise<QueryResult> {
  return waitFor(
    `data from ${expr}`,
    async () => {
      const r = await lab.prometheus.query(expr);
      return resultSize(r) > 0 && r;
    },
    deadlineMs,
  );
}

export interface Sample {
  readonly metric: Record<string, string>;
  readonly value: number;
}

export function vector(r: QueryResult): Sample[] {
  assert.equal(r.resultType, 'vector');
  return (r.result as { metric: Record<string, string>; value: [number, string] }[]).map((s) => ({ metric: s.metric, value: Number(s.value[1]) }));
}

export const byPod = (r: QueryResult) => Object.fromEntries(vector(r).map((s) => [`${s.metric.namespace}/${s.metric.pod}`, s.value]));

/** Every dashboard query returns data (or, for panels empty on the lab's devices, is accepted). */
export async function assertDashboardsAnswer(lab: Lab, files: readonly string[] = Object.keys(DASHBOARDS)): Promise<void> {
  for (const file of files) {
    const all = queries(DASHBOARDS[file]!);
    assert.ok(all.length > 5);
    await Promise.all(
      all.map(async ({ panel, target }) => {
        const expr = substitute(target.expr);
        if (target.emptyOnTestDevices) {
          // Still has to be a query Prometheus accepts.
          await lab.prometheus.query(expr);
          return;
        }
        await dataFrom(lab, expr).catch((err: Error) => assert.fail(`${file} ${panel}: ${expr}\n${err.message}`));
      }),
    );
  }
}

type Rules = { groups: { rules: { name: string; health: string; lastError?: string; type: string; lastEvaluation: string }[] }[] };

/** Every rule evaluated since `since` (ms) and without error; returns how many there are. */
export async function assertRulesHealthy(lab: Lab, since: number): Promise<number> {
  const rules = await waitFor('every rule evaluated again', async () => {
    const all = (await lab.prometheus.api<Rules>('/api/v1/rules')).groups.flatMap((g) => g.rules);
    return all.every((r) => Date.parse(r.lastEvaluation) > since) && all;
  });
  assert.deepEqual(
    rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`),
    [],
  );
  return rules.length;
}

export interface Alert {
  readonly labels: Record<string, string>;
  readonly state: string;
}

export async function alerts(lab: Lab): Promise<Alert[]> {
  return (await lab.prometheus.api<{ alerts: Alert[] }>('/api/v1/alerts')).alerts;
}

type Targets = { activeTargets: { discoveredLabels: Record<string, string>; labels: Record<string, string>; health: string; lastScrape: string }[] };

/** Rolls the exporter pods of `nodes` at once and waits until every new pod has been scraped. */
export async function rollAndWait(lab: Lab, nodes: readonly NodeName[]): Promise<void> {
  await lab.roll(nodes);
  await waitFor(
    `the new exporter pods scraped`,
    async () => {
      const t = (await lab.prometheus.api<Targets>('/api/v1/targets?state=active')).activeTargets;
      return nodes.every((node) => {
        const mine = t.filter((x) => x.discoveredLabels.__meta_kubernetes_pod_node_name === node);
        return mine.length === 1 && mine[0]!.discoveredLabels.__meta_kubernetes_pod_name === lab.pods.get(node) && mine[0]!.health === 'up';
      });
    },
    // A new exporter answers once its first background sample is done: seconds, a minute or more on a loaded machine.
    120_000,
  );
  // Two more scrapes and rule evaluations: the new pods' series are in every range.
  await new Promise((r) => setTimeout(r, 2500));
}

/**
 * Waits until the workloads are attributed again after exporters restarted: the new
 * processes list the kubelet, sync the API and place the processes before per-pod
 * memory and utilisation are recorded again (a minute or more on a loaded machine).
 */
export async function waitForWorkloads(lab: Lab): Promise<void> {
  await waitFor(
    'per-pod memory and utilisation recorded again',
    async () =>
      resultSize(await lab.prometheus.query('namespace_pod:accelerator_memory_usage_bytes:sum')) === 3 &&
      resultSize(await lab.prometheus.query('namespace_pod:accelerator_utilization:avg')) === 2,
    120_000,
  );
}

/** Target labels of each active exporter target, by node, without __ labels. */
export async function exporterTargetLabels(lab: Lab): Promise<Record<string, Record<string, string>>> {
  const t = (await lab.prometheus.api<Targets>('/api/v1/targets?state=active')).activeTargets;
  return Object.fromEntries(t.filter((x) => x.discoveredLabels.__meta_kubernetes_pod_node_name).map((x) => [x.discoveredLabels.__meta_kubernetes_pod_node_name!, x.labels]));
}
