import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ROOT_CONTEXT, SpanKind, trace, TraceFlags, type Context } from '@opentelemetry/api';
import { SamplingDecision } from '@opentelemetry/sdk-trace';
import { otelSettings, type SamplerSetting } from '../../src/telemetry/otel-config.ts';
import { createSampler } from '../../src/telemetry/sampler.ts';

const ON = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c' };

function sampler(env: Record<string, string>): { setting: SamplerSetting; warnings: readonly string[] } {
  const s = otelSettings({ ...ON, ...env });
  return { setting: s.sampler, warnings: s.warnings };
}

// The ratio sampler XORs the trace id's four 32-bit words and keeps the trace below ratio * 2^32.
const LOW_ID = '00000000000000000000000000000001'; // 1: kept by any ratio above 0
const HIGH_ID = 'fffffff0000000000000000000000000'; // 0xfffffff0: kept only by a ratio near 1

function parent(flags: number): Context {
  return trace.setSpanContext(ROOT_CONTEXT, { traceId: LOW_ID, spanId: '0000000000000001', traceFlags: flags, isRemote: false });
}

async function decide(env: Record<string, string>, traceId: string, ctx: Context = ROOT_CONTEXT): Promise<boolean> {
  const s = await createSampler(sampler(env).setting);
  const d = s.shouldSample(ctx, traceId, 'collect nvidia-smi', SpanKind.INTERNAL, {}, []).decision;
  return d === SamplingDecision.RECORD_AND_SAMPLED;
}

describe('OTEL_TRACES_SAMPLER', () => {
  it('reads every supported sampler and its ratio', () => {
    assert.deepEqual(sampler({}), { setting: { name: 'parentbased_always_on', parentBased: true, root: 'always_on', ratio: 1 }, warnings: [] });
    assert.deepEqual(sampler({ OTEL_TRACES_SAMPLER: 'always_off' }).setting, { name: 'always_off', parentBased: false, root: 'always_off', ratio: 1 });
    assert.deepEqual(sampler({ OTEL_TRACES_SAMPLER: 'parentbased_always_off' }).setting, { name: 'parentbased_always_off', parentBased: true, root: 'always_off', ratio: 1 });
    assert.deepEqual(sampler({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }).setting, { name: 'traceidratio', parentBased: false, root: 'traceidratio', ratio: 0.25 });
    assert.deepEqual(sampler({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' }).setting, { name: 'parentbased_traceidratio', parentBased: true, root: 'traceidratio', ratio: 0 });
    // No argument: the spec's default ratio, 1.0.
    assert.equal(sampler({ OTEL_TRACES_SAMPLER: 'traceidratio' }).setting.ratio, 1);
    // The argument means nothing to the other samplers and is ignored without a warning.
    assert.deepEqual(sampler({ OTEL_TRACES_SAMPLER: 'always_on', OTEL_TRACES_SAMPLER_ARG: 'x' }).warnings, []);
  });

  it('ignores unsupported samplers and bad ratios with a warning, as the configuration spec asks', () => {
    assert.deepEqual(sampler({ OTEL_TRACES_SAMPLER: 'jaeger_remote' }), {
      setting: { name: 'parentbased_always_on', parentBased: true, root: 'always_on', ratio: 1 },
      warnings: [
        'OTEL_TRACES_SAMPLER=jaeger_remote is not supported (supported: always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio); using parentbased_always_on',
      ],
    });
    for (const arg of ['1.5', '-0.1', 'half']) {
      assert.deepEqual(sampler({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: arg }), {
        setting: { name: 'traceidratio', parentBased: false, root: 'traceidratio', ratio: 1 },
        warnings: [`OTEL_TRACES_SAMPLER_ARG=${arg} is not a ratio between 0 and 1; using 1`],
      });
    }
  });

  it('builds the SDK sampler that decides as named', async () => {
    assert.equal(await decide({}, HIGH_ID), true);
    assert.equal(await decide({ OTEL_TRACES_SAMPLER: 'always_off' }, LOW_ID), false);
    assert.equal(await decide({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5' }, LOW_ID), true);
    assert.equal(await decide({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5' }, HIGH_ID), false);
    assert.equal(await decide({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' }, LOW_ID), false);
    // Not parent-based: a sampled parent does not save a child the ratio drops.
    assert.equal(await decide({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5' }, HIGH_ID, parent(TraceFlags.SAMPLED)), false);
  });

  it('lets a child follow its parent under the parentbased samplers', async () => {
    assert.equal(await decide({ OTEL_TRACES_SAMPLER: 'parentbased_always_off' }, LOW_ID), false);
    assert.equal(await decide({ OTEL_TRACES_SAMPLER: 'parentbased_always_off' }, LOW_ID, parent(TraceFlags.SAMPLED)), true);
    assert.equal(await decide({ OTEL_TRACES_SAMPLER: 'parentbased_always_on' }, LOW_ID, parent(TraceFlags.NONE)), false);
    assert.equal(await decide({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5' }, HIGH_ID), false);
    assert.equal(await decide({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5' }, HIGH_ID, parent(TraceFlags.SAMPLED)), true);
  });
});
