import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { negotiate, renderFamilies, type RenderedFamily } from '../../src/metrics/serialize.ts';

const families: RenderedFamily[] = [
  {
    family: { name: 'hw_energy_joules_total', help: 'Energy "used"\\ by a device\nsince boot.', type: 'counter', unit: 'joules', labelNames: ['uuid', 'model'] },
    samples: [{ labels: ['GPU-1', 'Quote "x" back\\slash\nnewline'], value: 1.5e21 }],
  },
  { family: { name: 'empty_family', help: 'Nothing.', type: 'gauge', unit: '', labelNames: [] }, samples: [] },
  {
    family: { name: 'hw_gpu_utilization_ratio', help: 'Busy.', type: 'gauge', unit: 'ratio', labelNames: [] },
    samples: [{ labels: [], value: 0.25 }, { labels: [], value: NaN }, { labels: [], value: -Infinity }],
  },
];

describe('serializer', () => {
  it('renders the Prometheus text format exactly', () => {
    assert.equal(
      renderFamilies(families, 'prometheus'),
      '# HELP hw_energy_joules_total Energy "used"\\\\ by a device\\nsince boot.\n' +
        '# TYPE hw_energy_joules_total counter\n' +
        'hw_energy_joules_total{uuid="GPU-1",model="Quote \\"x\\" back\\\\slash\\nnewline"} 1.5e+21\n' +
        '# HELP hw_gpu_utilization_ratio Busy.\n' +
        '# TYPE hw_gpu_utilization_ratio gauge\n' +
        'hw_gpu_utilization_ratio 0.25\n' +
        'hw_gpu_utilization_ratio NaN\n' +
        'hw_gpu_utilization_ratio -Inf\n',
    );
  });

  it('renders OpenMetrics: counter family without _total, units, escaped quotes in help', () => {
    assert.equal(
      renderFamilies(families, 'openmetrics'),
      '# HELP hw_energy_joules Energy \\"used\\"\\\\ by a device\\nsince boot.\n' +
        '# TYPE hw_energy_joules counter\n' +
        '# UNIT hw_energy_joules joules\n' +
        'hw_energy_joules_total{uuid="GPU-1",model="Quote \\"x\\" back\\\\slash\\nnewline"} 1.5e+21\n' +
        '# HELP hw_gpu_utilization_ratio Busy.\n' +
        '# TYPE hw_gpu_utilization_ratio gauge\n' +
        '# UNIT hw_gpu_utilization_ratio ratio\n' +
        'hw_gpu_utilization_ratio 0.25\n' +
        'hw_gpu_utilization_ratio NaN\n' +
        'hw_gpu_utilization_ratio -Inf\n',
    );
  });

  it('picks OpenMetrics only when the Accept header asks for it', () => {
    assert.equal(negotiate(undefined), 'prometheus');
    assert.equal(negotiate('text/plain;version=0.0.4;q=1,*/*;q=0.1'), 'prometheus');
    assert.equal(negotiate('application/openmetrics-text;version=1.0.0,text/plain;q=0.5'), 'openmetrics');
  });

  it('weighs q-values: q=0 refuses OpenMetrics, the higher q wins, a tie goes to the type listed first', () => {
    assert.equal(negotiate('application/openmetrics-text;q=0'), 'prometheus');
    assert.equal(negotiate('application/openmetrics-text; q=0.0, */*'), 'prometheus');
    assert.equal(negotiate('application/openmetrics-text;q=0.2,text/plain;q=0.9'), 'prometheus');
    assert.equal(negotiate('text/plain;q=0.2,application/openmetrics-text;q=0.9'), 'openmetrics');
    assert.equal(negotiate('text/plain,application/openmetrics-text'), 'prometheus');
    assert.equal(negotiate('application/openmetrics-text,text/plain'), 'openmetrics');
    assert.equal(negotiate('application/*;q=0.8,text/*;q=0.5'), 'openmetrics');
    assert.equal(negotiate('*/*'), 'prometheus');
    // Prometheus 3's scrape header: protobuf first (not served), then OpenMetrics above text.
    assert.equal(
      negotiate('application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2'),
      'openmetrics',
    );
    // Prometheus configured for the text format only (scrape_protocols: [PrometheusText0.0.4]).
    assert.equal(negotiate('text/plain;version=0.0.4;q=0.9,*/*;q=0.1'), 'prometheus');
  });
});
