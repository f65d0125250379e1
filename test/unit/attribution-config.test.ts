// --attribution.interval: "collect" (follow --collect.interval) or a duration, checked like every other duration.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BACKEND_FACTORIES } from '../../src/backends/registry.ts';
import { ConfigError, helpText, parseConfig } from '../../src/config.ts';

const parse = (argv: string[], env: Record<string, string> = {}) => {
  const r = parseConfig(argv, env, BACKEND_FACTORIES);
  assert.equal(r.kind, 'run');
  return r.config;
};

describe('--attribution.interval', () => {
  it('defaults to "collect" and accepts it or a duration', () => {
    assert.equal(parse([]).attribution.interval, 'collect');
    assert.equal(parse(['--attribution.interval=collect']).attribution.interval, 'collect');
    assert.equal(parse(['--attribution.interval=2500ms']).attribution.interval, 2500);
    assert.equal(parse([], { ACCELERATOR_EXPORTER_ATTRIBUTION_INTERVAL: '1m' }).attribution.interval, 60_000);
  });

  it('rejects anything else with one line naming the flag or variable', () => {
    assert.throws(() => parse(['--attribution.interval=often']), new ConfigError('invalid value "often" for flag --attribution.interval: expected a positive duration such as 10s, 500ms or 1m or "collect"'));
    assert.throws(() => parse(['--attribution.interval=-5s']), /invalid value "-5s" for flag --attribution.interval/);
    assert.throws(() => parse([], { ACCELERATOR_EXPORTER_ATTRIBUTION_INTERVAL: 'Collect' }), /invalid value "Collect" for environment variable ACCELERATOR_EXPORTER_ATTRIBUTION_INTERVAL/);
  });

  it('shows both forms in --help', () => {
    assert.match(helpText(BACKEND_FACTORIES), /--attribution\.interval=<duration\|collect>/);
  });
});
