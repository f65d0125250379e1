// Which OpenTelemetry signals to push, decided from the standard OTEL_*
// variables only. Pure, so the "off unless configured" rule is testable
// without starting anything. Following the OpenTelemetry configuration spec,
// a value we do not recognise is reported and ignored, never fatal: the
// Prometheus endpoint must keep working whatever the OTLP settings say.

export type OtlpProtocol = 'http/protobuf' | 'http/json' | 'grpc';

/**
 * OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG as the configuration spec
 * defines them. sdk-trace 3.x no longer reads these variables, so they are
 * read here; src/telemetry/sampler.ts builds the SDK sampler from this.
 */
export interface SamplerSetting {
  /** The spec's name, e.g. parentbased_traceidratio. */
  readonly name: string;
  /** Children follow their parent's decision; the root rule only decides for root spans. */
  readonly parentBased: boolean;
  readonly root: 'always_on' | 'always_off' | 'traceidratio';
  /** For traceidratio: the fraction of traces kept, 0..1; 1 otherwise. */
  readonly ratio: number;
}

export interface OtelSettings {
  readonly metrics: boolean;
  readonly traces: boolean;
  readonly metricsProtocol: OtlpProtocol;
  readonly tracesProtocol: OtlpProtocol;
  /** OTEL_METRIC_EXPORT_INTERVAL, default 60 s as the spec says. */
  readonly exportIntervalMs: number;
  /** OTEL_METRIC_EXPORT_TIMEOUT, never above the interval (the SDK rejects that). */
  readonly exportTimeoutMs: number;
  /** OTEL_BSP_SCHEDULE_DELAY: how long finished spans wait before a batch is sent. */
  readonly spanScheduleDelayMs: number;
  readonly sampler: SamplerSetting;
  /**
   * Bound on the final flush at shutdown: the OTLP export timeout (the largest
   * of the enabled signals', default 10 s) but at most FINAL_FLUSH_MAX_MS, so
   * an unreachable collector cannot hold the exit past main's 5 s grace.
   */
  readonly shutdownTimeoutMs: number;
  /** Why a signal is off, for the startup log line. */
  readonly reasons: readonly string[];
  /** Values that were ignored, one sentence each. */
  readonly warnings: readonly string[];
}

type Env = Readonly<Record<string, string | undefined>>;

const PROTOCOLS: readonly OtlpProtocol[] = ['http/protobuf', 'http/json', 'grpc'];
const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const;
const DEFAULT_SAMPLER = 'parentbased_always_on';
/** The final flush's ceiling: leaves main's 5 s shutdown grace room for stopping the poller and the server. */
export const FINAL_FLUSH_MAX_MS = 3_000;
const OTLP_TIMEOUT_DEFAULT_MS = 10_000;

function set(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

export function otelSettings(env: Env): OtelSettings {
  const warnings: string[] = [];
  const reasons: string[] = [];

  const protocol = (signal: 'METRICS' | 'TRACES'): OtlpProtocol => {
    for (const name of [`OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`, 'OTEL_EXPORTER_OTLP_PROTOCOL']) {
      const v = set(env, name);
      if (v === undefined) continue;
      if ((PROTOCOLS as readonly string[]).includes(v)) return v as OtlpProtocol;
      warnings.push(`${name}=${v} is not supported (supported: ${PROTOCOLS.join(', ')}); using http/protobuf`);
      return 'http/protobuf';
    }
    return 'http/protobuf';
  };

  const enabled = (signal: 'METRICS' | 'TRACES', exporterVar: string): boolean => {
    const exporter = set(env, exporterVar) ?? 'otlp';
    if (exporter === 'none') {
      reasons.push(`${exporterVar}=none`);
      return false;
    }
    if (exporter !== 'otlp') warnings.push(`${exporterVar}=${exporter} is not supported (supported: otlp, none); using otlp`);
    // No endpoint means nobody asked for OTLP: the SDK's own default
    // (localhost:4318) would make every node try to connect to nothing.
    if (!set(env, 'OTEL_EXPORTER_OTLP_ENDPOINT') && !set(env, `OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`)) {
      reasons.push(`neither OTEL_EXPORTER_OTLP_ENDPOINT nor OTEL_EXPORTER_OTLP_${signal}_ENDPOINT is set`);
      return false;
    }
    return true;
  };

  const millis = (name: string, fallback: number): number => {
    const v = set(env, name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (Number.isFinite(n) && n > 0) return n;
    warnings.push(`${name}=${v} is not a positive number of milliseconds; using ${fallback}`);
    return fallback;
  };

  const sampler = (): SamplerSetting => {
    let name: string = set(env, 'OTEL_TRACES_SAMPLER') ?? DEFAULT_SAMPLER;
    if (!(SAMPLERS as readonly string[]).includes(name)) {
      warnings.push(`OTEL_TRACES_SAMPLER=${name} is not supported (supported: ${SAMPLERS.join(', ')}); using ${DEFAULT_SAMPLER}`);
      name = DEFAULT_SAMPLER;
    }
    const parentBased = name.startsWith('parentbased_');
    const root = name.replace(/^parentbased_/, '') as SamplerSetting['root'];
    let ratio = 1;
    // The argument only means something to the ratio samplers; the spec lets others ignore it.
    const arg = set(env, 'OTEL_TRACES_SAMPLER_ARG');
    if (root === 'traceidratio' && arg !== undefined) {
      const n = Number(arg);
      if (Number.isFinite(n) && n >= 0 && n <= 1) ratio = n;
      else warnings.push(`OTEL_TRACES_SAMPLER_ARG=${arg} is not a ratio between 0 and 1; using 1`);
    }
    return { name, parentBased, root, ratio };
  };

  // The exporters read and validate these themselves (and report bad values), so no warning here.
  const otlpTimeout = (signal: 'METRICS' | 'TRACES'): number => {
    const n = Number(set(env, `OTEL_EXPORTER_OTLP_${signal}_TIMEOUT`) ?? set(env, 'OTEL_EXPORTER_OTLP_TIMEOUT'));
    return Number.isFinite(n) && n > 0 ? n : OTLP_TIMEOUT_DEFAULT_MS;
  };

  const disabled = set(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true';
  if (disabled) reasons.push('OTEL_SDK_DISABLED=true');
  const metrics = !disabled && enabled('METRICS', 'OTEL_METRICS_EXPORTER');
  const traces = !disabled && enabled('TRACES', 'OTEL_TRACES_EXPORTER');
  const exportIntervalMs = millis('OTEL_METRIC_EXPORT_INTERVAL', 60_000);
  const signalTimeouts = [metrics && otlpTimeout('METRICS'), traces && otlpTimeout('TRACES')].filter((t) => t !== false);
  return {
    metrics,
    traces,
    metricsProtocol: protocol('METRICS'),
    tracesProtocol: protocol('TRACES'),
    exportIntervalMs,
    exportTimeoutMs: Math.min(millis('OTEL_METRIC_EXPORT_TIMEOUT', 30_000), exportIntervalMs),
    spanScheduleDelayMs: millis('OTEL_BSP_SCHEDULE_DELAY', 5_000),
    sampler: sampler(),
    shutdownTimeoutMs: Math.min(Math.max(0, ...signalTimeouts), FINAL_FLUSH_MAX_MS),
    reasons,
    warnings,
  };
}
