import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { allFamilies } from '../../src/metrics/catalog.ts';
import { exportedFamilies, instrumentSpec, OTEL_DOC_BEGIN, OTEL_DOC_END, otelNamesTable } from '../../src/telemetry/otel-names.ts';
import { ROOT } from '../helpers/exporter.ts';

describe('OpenTelemetry names', () => {
  const specs = exportedFamilies(allFamilies()).map(instrumentSpec);

  it('uses the family\'s otel field as the instrument name where there is one', () => {
    for (const s of specs) if (s.family.otel) assert.equal(s.name, s.family.otel);
    assert.deepEqual(
      specs.filter((s) => s.semconv).map((s) => [s.name, s.unit, s.kind]),
      [
        ['hw.gpu.utilization', '1', 'gauge'],
        ['hw.gpu.memory.usage', 'By', 'gauge'],
        ['hw.gpu.memory.limit', 'By', 'gauge'],
        ['hw.power', 'W', 'gauge'],
        ['hw.energy', 'J', 'counter'],
        ['hw.temperature', 'Cel', 'gauge'],
        ['hw.errors', '{error}', 'counter'],
        ['hw.gpu.io', 'By', 'counter'],
      ],
    );
  });

  it('gives every exported family its own instrument and attribute names', () => {
    const names = specs.map((s) => s.name);
    assert.equal(new Set(names).size, names.length, 'duplicate instrument name');
    for (const s of specs) {
      assert.match(s.name, /^(hw|accelerator)\.[a-z0-9_.]+$/);
      assert.equal(new Set(s.attributeKeys).size, s.attributeKeys.length, `${s.name}: two labels map to one attribute`);
    }
  });

  it('is documented in docs/opentelemetry.md (npm run docs)', () => {
    const doc = readFileSync(path.join(ROOT, 'docs/opentelemetry.md'), 'utf8');
    const generated = doc.slice(doc.indexOf(OTEL_DOC_BEGIN) + OTEL_DOC_BEGIN.length + 1, doc.indexOf(OTEL_DOC_END));
    assert.equal(generated, otelNamesTable(allFamilies()));
  });
});
