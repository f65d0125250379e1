// OTLP push of the same metrics /metrics serves, and of the collection spans.
// Off unless an OTLP endpoint is configured through the standard OTEL_*
// variables; only then is the SDK imported, so an unconfigured exporter never
// loads code that opens a connection. Metric values are observed from the
// poller's latest snapshot at export time, through the same MetricFamily
// list the Prometheus exposition renders: one source, two formats.

import { context, diag, DiagLogLevel, trace, type Attributes, type Observable } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { Snapshot } from '../collect/snapshot.ts';
import type { MetricFamily } from '../metrics/family.ts';
import type { OtelSettings, OtlpProtocol } from './otel-config.ts';
import { exportedFamilies, instrumentSpec, sampleAttributes } from './otel-names.ts';
import { createSampler } from './sampler.ts';

export interface TelemetryOptions {
  readonly settings: OtelSettings;
  readonly log: Logger;
  readonly snapshot: () => Snapshot;
  readonly families: readonly MetricFamily[];
  readonly serviceVersion: string;
  /** The Kubernetes node (downward API NODE_NAME), as the k8s.node.name resource attribute. */
  readonly nodeName?: string;
}

export interface Telemetry {
  /** Exports what is pending and stops; gives up after settings.shutdownTimeoutMs. */
  shutdown(): Promise<void>;
}

export async function startTelemetry(opts: TelemetryOptions): Promise<Telemetry | undefined> {
  try {
    return await start(opts);
  } catch (err) {
    // OTLP is an extra: a failure to start it must not take /metrics down.
    opts.log.error({ err: (err as Error).message }, 'OpenTelemetry export failed to start; serving /metrics only');
    return undefined;
  }
}

async function start(opts: TelemetryOptions): Promise<Telemetry | undefined> {
  const { settings, log } = opts;
  for (const w of settings.warnings) log.warn(w);
  if (!settings.metrics && !settings.traces) {
    log.info({ reasons: settings.reasons }, 'OpenTelemetry export off');
    return undefined;
  }
  // Export failures surface through the API's diagnostic logger; without one they are silent.
  diag.setLogger(
    {
      error: (msg, ...args) => log.warn({ args: args.map(String) }, `opentelemetry: ${msg}`),
      warn: (msg, ...args) => log.warn({ args: args.map(String) }, `opentelemetry: ${msg}`),
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    DiagLogLevel.WARN,
  );

  const { defaultResource, detectResources, envDetector, resourceFromAttributes } = await import('@opentelemetry/resources');
  const ours: Attributes = { 'service.name': 'accelerator-exporter', 'service.version': opts.serviceVersion };
  if (opts.nodeName) ours['k8s.node.name'] = opts.nodeName;
  // Later merges win: OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME override our defaults.
  const resource = defaultResource().merge(resourceFromAttributes(ours)).merge(detectResources({ detectors: [envDetector] }));

  const stops: (() => Promise<void>)[] = [];
  if (settings.metrics) stops.push(await startMetrics(opts, resource));
  if (settings.traces) stops.push(await startTraces(opts, resource));
  log.info(
    {
      metrics: settings.metrics ? { protocol: settings.metricsProtocol, intervalMs: settings.exportIntervalMs } : false,
      traces: settings.traces ? { protocol: settings.tracesProtocol, sampler: settings.sampler.name, samplerRatio: settings.sampler.ratio } : false,
      resource: resource.attributes,
    },
    'OpenTelemetry export on',
  );
  return {
    async shutdown() {
      // The SDK's flush may retry an unreachable collector for the whole OTLP timeout;
      // exiting cleanly within main's grace matters more than the last batch.
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), settings.shutdownTimeoutMs)));
      const results = await Promise.race([Promise.allSettled(stops.map((s) => s())), late]);
      clearTimeout(timer);
      if (results === 'late') {
        log.warn({ timeoutMs: settings.shutdownTimeoutMs }, 'OpenTelemetry final export did not finish in time; what was pending is dropped');
        return;
      }
      for (const r of results) if (r.status === 'rejected') log.warn({ err: String(r.reason) }, 'OpenTelemetry shutdown failed');
    },
  };
}

type Resource = import('@opentelemetry/resources').Resource;

// Only the chosen protocol's exporter is imported: gRPC pulls in @grpc/grpc-js, which a
// user of OTLP/HTTP should not pay for. Every exporter reads the endpoint, headers (gRPC:
// as metadata), timeout, compression and TLS settings from OTEL_EXPORTER_OTLP_* itself;
// for gRPC an http:// endpoint or OTEL_EXPORTER_OTLP_INSECURE=true means plaintext.
async function metricExporter(protocol: OtlpProtocol) {
  if (protocol === 'grpc') return new (await import('@opentelemetry/exporter-metrics-otlp-grpc')).OTLPMetricExporter();
  if (protocol === 'http/json') return new (await import('@opentelemetry/exporter-metrics-otlp-http')).OTLPMetricExporter();
  return new (await import('@opentelemetry/exporter-metrics-otlp-proto')).OTLPMetricExporter();
}

async function traceExporter(protocol: OtlpProtocol) {
  if (protocol === 'grpc') return new (await import('@opentelemetry/exporter-trace-otlp-grpc')).OTLPTraceExporter();
  if (protocol === 'http/json') return new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter();
  return new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter();
}

async function startMetrics(opts: TelemetryOptions, resource: Resource): Promise<() => Promise<void>> {
  const { MeterProvider, PeriodicExportingMetricReader } = await import('@opentelemetry/sdk-metrics');
  const exporter = await metricExporter(opts.settings.metricsProtocol);
  const reader = new PeriodicExportingMetricReader({
    exporter,
    exportIntervalMillis: opts.settings.exportIntervalMs,
    exportTimeoutMillis: opts.settings.exportTimeoutMs,
  });
  const provider = new MeterProvider({ resource, readers: [reader] });
  const meter = provider.getMeter('accelerator-exporter', opts.serviceVersion);
  const instruments = exportedFamilies(opts.families).map((f) => {
    const spec = instrumentSpec(f);
    const o = { description: f.help, unit: spec.unit };
    const instrument: Observable = spec.kind === 'counter' ? meter.createObservableCounter(spec.name, o) : meter.createObservableGauge(spec.name, o);
    return { spec, instrument };
  });
  // One callback for all instruments, so every point of an export comes from the same snapshot.
  meter.addBatchObservableCallback(
    (result) => {
      const snapshot = opts.snapshot();
      const now = Date.now();
      for (const { spec, instrument } of instruments) {
        for (const s of spec.family.samples(snapshot, now)) result.observe(instrument, s.value, sampleAttributes(spec, s.labels));
      }
    },
    instruments.map((i) => i.instrument),
  );
  return () => provider.shutdown();
}

async function startTraces(opts: TelemetryOptions, resource: Resource): Promise<() => Promise<void>> {
  const { BatchSpanProcessor, TracerProvider } = await import('@opentelemetry/sdk-trace');
  const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks');
  const exporter = await traceExporter(opts.settings.tracesProtocol);
  const provider = new TracerProvider({
    resource,
    sampler: await createSampler(opts.settings.sampler),
    spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: opts.settings.spanScheduleDelayMs })],
  });
  // Parent spans follow async work (tool runs, log lines) through AsyncLocalStorage.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  return async () => {
    await provider.shutdown();
    trace.disable();
    context.disable();
  };
}
