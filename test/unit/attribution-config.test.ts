// --attribution.interval: "collect" (follow --collect.interval) or a duration, checked like every other duration.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ATTRIBUTION_FLAGS } from '../../src/attribution/service.ts';
import { BACKEND_FACTORIES } from '../../src/backends/registry.ts';
import { ConfigError, helpText, parseConfig } from '../../src/config.ts';

const parse = (argv: string[], env: Record<string, string> = {}) => {
  const r = parseConfig(argv, env, BACKEND_FACTORIES, ATTRIBUTION_FLAGS);
  assert.equal(r.kind, 'run');
  return r.config;
};

describe('--attribution.interval', () => {
  it('defaults to "collect" and accepts it or a duration', () => {
    assert.equal(parse([]).raw['attribution.interval'], 'collect');
    assert.equal(parse(['--attribution.interval=collect']).raw['attribution.interval'], 'collect');
    assert.equal(parse(['--attribution.interval=2500ms']).raw['attribution.interval'], '2500ms');
    assert.equal(parse([], { ACCELERATOR_EXPORTER_ATTRIBUTION_INTERVAL: '1m' }).raw['attribution.interval'], '1m');
  });

  it('rejects anything else with one line naming the flag or variable', () => {
    assert.throws(() => parse(['--attribution.interval=often']), new ConfigError('invalid value "often" for flag --attribution.interval: expected a positive duration such as 10s, 500ms or 1m or "collect"'));
    assert.throws(() => parse(['--attribution.interval=-5s']), /invalid value "-5s" for flag --attribution.interval/);
    assert.throws(() => parse([], { ACCELERATOR_EXPORTER_ATTRIBUTION_INTERVAL: 'Collect' }), /invalid value "Collect" for environment variable ACCELERATOR_EXPORTER_ATTRIBUTION_INTERVAL/);
  });

  it('shows both forms in --help', () => {
    assert.match(helpText(BACKEND_FACTORIES, ATTRIBUTION_FLAGS), /--attribution\.interval=<duration\|collect>/);
  });
});
