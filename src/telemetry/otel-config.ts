// Which OpenTelemetry signals to push, decided from the standard OTEL_*
// variables only. Pure, so the "off unless configured" rule is testable
// without starting anything. Following the OpenTelemetry configuration spec,
// a value we do not recognise is reported and ignored, never fatal: the
// Prometheus endpoint must keep working whatever the OTLP settings say.

export type OtlpProtocol = 'http/protobuf' | 'http/json' | 'grpc';

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
  /** Why a signal is off, for the startup log line. */
  readonly reasons: readonly string[];
  /** Values that were ignored, one sentence each. */
  readonly warnings: readonly string[];
}

type Env = Readonly<Record<string, string | undefined>>;

const PROTOCOLS: readonly OtlpProtocol[] = ['http/protobuf', 'http/json', 'grpc'];

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

  const disabled = set(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true';
  if (disabled) reasons.push('OTEL_SDK_DISABLED=true');
  const metrics = !disabled && enabled('METRICS', 'OTEL_METRICS_EXPORTER');
  const traces = !disabled && enabled('TRACES', 'OTEL_TRACES_EXPORTER');
  const exportIntervalMs = millis('OTEL_METRIC_EXPORT_INTERVAL', 60_000);
  return {
    metrics,
    traces,
    metricsProtocol: protocol('METRICS'),
    tracesProtocol: protocol('TRACES'),
    exportIntervalMs,
    exportTimeoutMs: Math.min(millis('OTEL_METRIC_EXPORT_TIMEOUT', 30_000), exportIntervalMs),
    spanScheduleDelayMs: millis('OTEL_BSP_SCHEDULE_DELAY', 5_000),
    reasons,
    warnings,
  };
}
