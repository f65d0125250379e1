import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { allFamilies } from '../../src/metrics/catalog.ts';
import { DOC_BEGIN, DOC_END, metricsTable } from '../../src/metrics/docs.ts';
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
