import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { allFamilies } from '../../src/metrics/catalog.ts';
import { DOC_BEGIN, DOC_END, metricsTable } from '../../src/metrics/docs.ts';
import { DASHBOARDS } from '../../dashboards/src/generated.ts';
import { queries } from '../../dashboards/src/grafana.ts';
import { FLEET_LEAN_EXCLUDE, metricSelection, selectFamilies } from '../../src/metrics/selection.ts';
import { BUDGET_BEGIN, BUDGET_END, budgetTable, seriesBudget } from '../../src/metrics/series-budget.ts';
import { ROOT } from '../helpers/exporter.ts';
import { GOLDEN_DIR } from '../helpers/golden.ts';

const doc = readFileSync(path.join(ROOT, 'docs/metrics.md'), 'utf8');

function goldenFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? goldenFiles(p) : [p];
  });
}

describe('docs/metrics.md', () => {
  it('holds the table generated from the metric families (npm run docs)', () => {
    const generated = doc.slice(doc.indexOf(DOC_BEGIN) + DOC_BEGIN.length + 1, doc.indexOf(DOC_END));
    assert.equal(generated, metricsTable(allFamilies()));
  });

  it('documents every metric and label that a golden /metrics output holds', () => {
    const families = new Map(allFamilies().map((f) => [f.name, f]));
    for (const file of goldenFiles(GOLDEN_DIR)) {
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        if (line === '' || line.startsWith('#')) continue;
        const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0];
        const family = families.get(name);
        assert.ok(family, `${path.relative(ROOT, file)}: ${name} is not a declared, documented family`);
        const labels = [...line.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)].map((m) => m[1]);
        assert.deepEqual(labels, family.labelNames, `${name}: labels in ${path.relative(ROOT, file)} differ from the documented ones`);
      }
    }
  });

  it('uses names Prometheus accepts and units as suffixes', () => {
    for (const f of allFamilies()) {
      assert.match(f.name, /^[a-zA-Z_:][a-zA-Z0-9_:]*$/);
      if (f.type === 'counter') assert.ok(f.name.endsWith('_total'), `${f.name}: counters end in _total`);
      if (f.unit) assert.ok(f.name.replace(/_total$/, '').endsWith('_' + f.unit), `${f.name}: ends with its unit ${f.unit}`);
      assert.equal(new Set(f.labelNames).size, f.labelNames.length, `${f.name}: duplicate label`);
    }
  });
});

describe('docs/metrics.md series per node', () => {
  it('holds the table counted from the goldens (npm run docs)', () => {
    const generated = doc.slice(doc.indexOf(BUDGET_BEGIN) + BUDGET_BEGIN.length + 1, doc.indexOf(BUDGET_END));
    assert.equal(generated, budgetTable((golden) => readFileSync(path.join(GOLDEN_DIR, golden), 'utf8')));
  });

  it('counts an 8-GPU H100 node as 8 devices plus the node-level series', () => {
    const b = seriesBudget(readFileSync(path.join(GOLDEN_DIR, 'nvidia/gpu-lost.prom'), 'utf8'));
    // Three GPUs, one lost: the lost one keeps only accelerator_device_up.
    assert.equal(b.devices, 3);
    assert.equal(b.perNode, seriesBudget(readFileSync(path.join(GOLDEN_DIR, 'nvidia/h100-load.prom'), 'utf8')).perNode);
  });

  it('recommends the lean exclusion the code declares, and nothing shipped reads an excluded family', () => {
    assert.ok(doc.includes('```sh\n--metrics.exclude=' + FLEET_LEAN_EXCLUDE + '\n```'), 'docs/metrics.md shows FLEET_LEAN_EXCLUDE');
    const excluded = allFamilies()
      .map((f) => f.name)
      .filter((n) => !selectFamilies(allFamilies(), metricSelection({ 'metrics.exclude': FLEET_LEAN_EXCLUDE })).families.some((f) => f.name === n));
    assert.ok(excluded.length >= 8);
    const shipped = [
      ...['alerts/accelerator.rules.yaml', ...readdirSync(path.join(ROOT, 'hpa')).map((f) => `hpa/${f}`)].map((f) => readFileSync(path.join(ROOT, f), 'utf8')),
      ...['fleet', 'workloads'].map((d) => queries(DASHBOARDS[`${d}.json`]!).map((q) => q.target.expr).join('\n')),
    ].join('\n');
    for (const name of excluded) assert.doesNotMatch(shipped, new RegExp(`\\b${name}\\b`), `${name} is in the lean exclusion but a shipped rule or fleet query reads it`);
  });
});

describe('README.md', () => {
  it('mentions every flag the exporter accepts', async () => {
    const { flagSpecs } = await import('../../src/config.ts');
    const { BACKEND_FACTORIES } = await import('../../src/backends/registry.ts');
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    for (const spec of flagSpecs(BACKEND_FACTORIES)) {
      const name = spec.name.startsWith('backend.') ? 'backend.<name>' : spec.name;
      assert.ok(readme.includes(`--${name}`) || readme.includes(`--[no-]${name}`), `README.md does not document --${spec.name}`);
    }
  });
});
