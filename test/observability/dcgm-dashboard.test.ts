// NVIDIA's official dcgm-exporter Grafana dashboard (vendored unchanged in
// test/fixtures/dcgm/) against a real Prometheus scraping the lab's two real
// exporters with alerts/dcgm-compat.rules.yaml loaded: its template variables
// are answered the way Grafana asks, and every panel query is run with them
// substituted. The panels that return nothing must be exactly the ones
// docs/migration-from-dcgm-exporter.md lists as not yet possible.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DCGM_FIELDS, DCGM_RULES_FILE } from '../../alerts/dcgm-compat.ts';
import { FIXTURES, ROOT, waitFor } from '../helpers/exporter.ts';
import { GPU1, INFER_PODS } from '../helpers/lab-cluster.ts';
import { RULES, startLab, type Lab } from '../helpers/observability-lab.ts';
import { prometheusAvailable, resultSize } from '../helpers/prometheus.ts';

const DASHBOARD = JSON.parse(readFileSync(path.join(FIXTURES, 'dcgm/dcgm-exporter-dashboard.json'), 'utf8')) as DashboardJson;
const GUIDE = readFileSync(path.join(ROOT, 'docs/migration-from-dcgm-exporter.md'), 'utf8');

interface PanelJson {
  title: string;
  type: string;
  panels?: PanelJson[];
  targets?: { expr: string; instant?: boolean }[];
}
interface DashboardJson {
  title: string;
  panels: PanelJson[];
  templating: { list: { name: string; type: string; query: string | { query: string } }[] };
}

function panels(list: readonly PanelJson[]): PanelJson[] {
  return list.flatMap((p) => [...(p.targets?.length ? [p] : []), ...panels(p.panels ?? [])]);
}

/** The panel titles the guide names as returning no data yet (its list between the markers). */
function documentedBlank(): string[] {
  const a = GUIDE.indexOf('<!-- BEGIN PANELS WITHOUT DATA -->');
  const b = GUIDE.indexOf('<!-- END PANELS WITHOUT DATA -->');
  assert.ok(a >= 0 && b > a, 'the guide marks its list of panels without data');
  return [...GUIDE.slice(a, b).matchAll(/^- \*\*(.+?)\*\*/gm)].map((m) => m[1]!);
}

/** Grafana's multi-value formatting for Prometheus: regex-escaped values in a group. */
function regexOf(values: readonly string[]): string {
  return `(${values.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\\\$&')).join('|')})`;
}

const skip = !prometheusAvailable() && !process.env.CI ? 'prometheus is not installed (apt-get install prometheus)' : false;

describe("NVIDIA's dcgm-exporter dashboard through the compatibility rules", { skip }, () => {
  let lab: Lab;
  const vars = new Map<string, string>();
  let dir: string;
  before(async () => {
    // The shipped group evaluates once a minute (its cost at fleet size); here it runs at the
    // lab's cadence, so that the first evaluation is not a race against the test's deadlines.
    // The rules themselves are the shipped ones, unchanged.
    const shipped = readFileSync(path.join(ROOT, DCGM_RULES_FILE), 'utf8');
    assert.match(shipped, /^    interval: 1m$/m);
    dir = mkdtempSync(path.join(tmpdir(), 'ae-dcgm-'));
    const rules = path.join(dir, 'dcgm-compat.rules.yaml');
    writeFileSync(rules, shipped.replace(/^    interval: 1m$/m, '    interval: 1s'));
    lab = await startLab({ ruleFiles: [RULES, rules] });
  });
  after(async () => {
    await lab?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is the vendored dashboard, with a panel for each query', () => {
    assert.equal(DASHBOARD.title, 'NVIDIA DCGM Exporter Dashboard');
    assert.equal(panels(DASHBOARD.panels).length, 8);
  });

  it('answers its template variables with every node and every GPU', async () => {
    for (const v of DASHBOARD.templating.list) {
      if (v.type !== 'query') continue;
      const q = typeof v.query === 'string' ? v.query : v.query.query;
      const m = /^label_values\((\w+), (\w+)\)$/.exec(q);
      assert.ok(m, `variable ${v.name}: ${q}`);
      const values = await waitFor(`values of $${v.name}`, async () => {
        const got = await lab.prometheus.api<string[]>(`/api/v1/label/${m[2]}/values?match[]=${encodeURIComponent(m[1]!)}`);
        // Every node's series once the rules have evaluated over all three exporters' first samples.
        return (m[2] === 'instance' ? got.length === lab.exporters.size : got.length > 1) && got;
      });
      vars.set(v.name, regexOf(values));
    }
    // The Operator-generated scrape config (test/helpers/prometheus-operator.ts) sets instance to the node name.
    assert.equal(vars.get('instance'), regexOf([...lab.exporters.keys()].sort()));
    // gpu-node-a has GPUs 0 and 1; gpu-node-b 0, 1 and a lost one with no uuid and so no DCGM series.
    assert.equal(vars.get('gpu'), '(0|1)');
  });

  it('returns data for every panel except the ones the migration guide lists', async () => {
    assert.ok(vars.size === 2, 'the variables were answered');
    const substitute = (expr: string) => expr.replace(/\$(\w+)/g, (_, name: string) => vars.get(name) ?? assert.fail(`no value for $${name} in ${expr}`));
    const withData = new Set<string>();
    const all = panels(DASHBOARD.panels);
    // Every panel that can get data gets it within the bound; the rest are asked again after that.
    await Promise.all(
      all.map(async (p) => {
        const exprs = p.targets!.map((t) => substitute(t.expr));
        try {
          await waitFor(`data for ${p.title}`, async () => {
            for (const e of exprs) if (resultSize(await lab.prometheus.query(e)) === 0) return false;
            return true;
          });
          withData.add(p.title);
        } catch {
          // Stays blank; the sets below say whether that is documented.
        }
      }),
    );
    const blank = all.map((p) => p.title).filter((t) => !withData.has(t));
    assert.deepEqual(blank.sort(), documentedBlank().sort(), 'panels without data, against the guide\'s list');
    assert.ok(withData.size >= 7);
  });

  it('serves the capture\'s own numbers in dcgm-exporter\'s units and labels', async () => {
    // The H100 load capture: 59 C, 19818 MiB used, SM clock 1980 MHz; gpu-1 of gpu-node-a is held by both serve pods.
    const temp = await waitFor('a GPU temperature per holding pod', async () => {
      const r = await lab.prometheus.query(`DCGM_FI_DEV_GPU_TEMP{Hostname="gpu-node-a", UUID="${GPU1}"}`);
      return resultSize(r) === 2 && (r.result as { metric: Record<string, string>; value: [number, string] }[]);
    });
    assert.deepEqual(
      temp.map((s) => [s.metric.namespace, s.metric.pod, s.metric.container, s.metric.gpu, s.metric.device, s.metric.pci_bus_id, s.metric.modelName, s.metric.DCGM_FI_DRIVER_VERSION, s.value[1]]).sort(),
      INFER_PODS.map((pod) => ['serve', pod, 'server', '1', 'nvidia1', '00000000:11:09.0', 'NVIDIA H100 80GB HBM3', '590.48.01', '59']),
    );
    const fb = await waitFor('framebuffer used', async () => {
      const r = await lab.prometheus.query(`max(DCGM_FI_DEV_FB_USED{Hostname="gpu-node-a"})`);
      return resultSize(r) === 1 && (r.result as { value: [number, string] }[])[0]!.value[1];
    });
    assert.equal(fb, '19818');
    const clock = await waitFor('SM clock', async () => {
      const r = await lab.prometheus.query(`max(DCGM_FI_DEV_SM_CLOCK{Hostname="gpu-node-a"})`);
      return resultSize(r) === 1 && (r.result as { value: [number, string] }[])[0]!.value[1];
    });
    assert.equal(clock, '1980');
  });

  it('records every field the guide says has a rule, and none it says has not', async () => {
    for (const f of DCGM_FIELDS) {
      if (f.type === 'label') continue;
      const r = await lab.prometheus.query(`count(${f.field})`);
      // Energy has a rule for backends that read it; nvidia-smi has no energy counter.
      if (!f.expr || f.field === 'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION') assert.equal(resultSize(r), 0, `${f.field} has data`);
      else await waitFor(`${f.field} recorded`, async () => resultSize(await lab.prometheus.query(`count(${f.field})`)) === 1);
    }
  });
});

describe('docs/migration-from-dcgm-exporter.md', () => {
  it('maps every field of dcgm-exporter\'s default counters', () => {
    const csv = readFileSync(path.join(FIXTURES, 'dcgm/default-counters.csv'), 'utf8');
    const enabled = csv
      .split('\n')
      .filter((l) => /^DCGM_/.test(l))
      .map((l) => l.split(',').map((c) => c.trim()));
    assert.ok(enabled.length >= 20);
    assert.deepEqual(DCGM_FIELDS.map((f) => [f.field, f.type]).sort(), enabled.map(([field, type]) => [field, type]).sort());
    for (const f of DCGM_FIELDS) assert.ok(GUIDE.includes(`| \`${f.field}\` |`), `${f.field} has a row`);
  });
});
