// The trace sampler named by OTEL_TRACES_SAMPLER (read in otel-config.ts).
// Imports the SDK lazily like the rest of the telemetry start, so an exporter
// with traces off never loads it.

import type { Sampler } from '@opentelemetry/sdk-trace';
import type { SamplerSetting } from './otel-config.ts';

export async function createSampler(setting: SamplerSetting): Promise<Sampler> {
  const { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, TraceIdRatioBasedSampler } = await import('@opentelemetry/sdk-trace');
  const root =
    setting.root === 'always_off' ? new AlwaysOffSampler() : setting.root === 'traceidratio' ? new TraceIdRatioBasedSampler(setting.ratio) : new AlwaysOnSampler();
  return setting.parentBased ? new ParentBasedSampler({ root }) : root;
}
