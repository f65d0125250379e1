import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BACKEND_FACTORIES } from '../../src/backends/registry.ts';
import { ConfigError, parseConfig } from '../../src/config.ts';
import { allFamilies, scrapeFamilies } from '../../src/metrics/catalog.ts';
import { metricSelection, parseGlobs, selectFamilies } from '../../src/metrics/selection.ts';

const ALL = allFamilies();
const names = (raw: Record<string, string>) => selectFamilies(ALL, metricSelection(raw)).families.map((f) => f.name);
const SELF = ALL.map((f) => f.name).filter((n) => n.startsWith('accelerator_exporter_'));

describe('metric selection', () => {
  it('serves every family by default, in catalog order', () => {
    assert.deepEqual(names({}), ALL.map((f) => f.name));
  });

  it('keeps only included families, plus the self metrics', () => {
    assert.deepEqual(names({ 'metrics.include': 'hw_power_watts, hw_gpu_*' }), [
      'hw_gpu_utilization_ratio',
      'hw_gpu_memory_usage_bytes',
      'hw_gpu_memory_limit_bytes',
      'hw_power_watts',
      'hw_gpu_io_bytes_total',
      ...SELF,
    ]);
  });

  it('lets exclude win over include, ? standing for one character', () => {
    assert.deepEqual(names({ 'metrics.include': 'hw_*', 'metrics.exclude': 'hw_gpu_memory_*,hw_e??ors_total' }), [
      'hw_gpu_utilization_ratio',
      'hw_power_watts',
      'hw_energy_joules_total',
      'hw_temperature_celsius',
      'hw_gpu_io_bytes_total',
      ...SELF,
    ]);
  });

  it('never drops self metrics, even when a broader glob covers them', () => {
    const kept = names({ 'metrics.exclude': 'accelerator_*,process_*' });
    assert.deepEqual(kept.filter((n) => !n.startsWith('hw_')), SELF);
    assert.ok(SELF.includes('accelerator_exporter_attribution_last_refresh_age_seconds'), 'scrape-time self families count too');
  });

  it('filters the scrape-time families the same way', () => {
    const kept = selectFamilies(scrapeFamilies, metricSelection({ 'metrics.exclude': 'process_*' }), ALL).families.map((f) => f.name);
    assert.deepEqual(kept, ['accelerator_exporter_backend_last_sample_age_seconds', 'accelerator_exporter_attribution_last_refresh_age_seconds']);
  });

  it('rejects an exclude glob that matches only self metrics', () => {
    assert.throws(
      () => names({ 'metrics.exclude': 'hw_power_watts,accelerator_exporter_*' }),
      new ConfigError('--metrics.exclude "accelerator_exporter_*" matches only self metrics (accelerator_exporter_*), which are always served'),
    );
  });

  it('reports globs that match no family, without failing', () => {
    const r = selectFamilies(ALL, metricSelection({ 'metrics.include': 'hw_*,dcgm_*', 'metrics.exclude': 'hw_powr_watts' }));
    assert.deepEqual(r.unmatched, ['dcgm_*', 'hw_powr_watts']);
    assert.ok(r.families.some((f) => f.name === 'hw_power_watts'));
  });

  it('arrives typed in the parsed configuration, from a flag or its environment variable', () => {
    const r = parseConfig(['--metrics.exclude=hw_*, accelerator_clock_*'], { ACCELERATOR_EXPORTER_METRICS_INCLUDE: 'hw_*,accelerator_*' }, BACKEND_FACTORIES);
    assert.equal(r.kind, 'run');
    assert.deepEqual(r.kind === 'run' && r.config.metrics, { include: ['hw_*', 'accelerator_*'], exclude: ['hw_*', 'accelerator_clock_*'] });
    const d = parseConfig([], {}, BACKEND_FACTORIES);
    assert.deepEqual(d.kind === 'run' && d.config.metrics, { include: ['*'], exclude: [] });
    assert.throws(() => parseConfig(['--metrics.include=hw_(x)'], {}, BACKEND_FACTORIES), ConfigError);
  });

  it('rejects characters a family name cannot hold, and a list without a glob', () => {
    assert.throws(() => parseGlobs('hw_{a,b}', 'metrics.include'), new ConfigError('invalid value "hw_{a,b}" for flag --metrics.include: "hw_{a" is not a family-name glob (letters, digits, _, :, * and ? only)'));
    assert.throws(() => parseGlobs(' , ', 'metrics.exclude'), new ConfigError('invalid value " , " for flag --metrics.exclude: no glob in it'));
    assert.deepEqual(parseGlobs('a*, b? ,c', 'metrics.include'), ['a*', 'b?', 'c']);
  });
});
