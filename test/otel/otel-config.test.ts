import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { otelSettings } from '../../src/telemetry/otel-config.ts';

describe('otelSettings', () => {
  it('is off with nothing set, whatever else is set', () => {
    const s = otelSettings({ OTEL_METRIC_EXPORT_INTERVAL: '1000', OTEL_EXPORTER_OTLP_HEADERS: 'a=b', OTEL_SERVICE_NAME: 'x' });
    assert.equal(s.metrics, false);
    assert.equal(s.traces, false);
  });

  it('turns both signals on with the shared endpoint, and one with its own endpoint', () => {
    assert.deepEqual(
      [otelSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' })].map((s) => [s.metrics, s.traces]),
      [[true, true]],
    );
    const m = otelSettings({ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://c:4318/v1/metrics' });
    assert.deepEqual([m.metrics, m.traces], [true, false]);
    const t = otelSettings({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces', OTEL_EXPORTER_OTLP_ENDPOINT: '  ' });
    assert.deepEqual([t.metrics, t.traces], [false, true]);
  });

  it('honours OTEL_SDK_DISABLED and the none exporters', () => {
    const d = otelSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'TRUE' });
    assert.deepEqual([d.metrics, d.traces, d.reasons], [false, false, ['OTEL_SDK_DISABLED=true']]);
    const n = otelSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' });
    assert.deepEqual([n.metrics, n.traces], [true, false]);
  });

  it('picks the protocol per signal and ignores unsupported values with a warning', () => {
    const s = otelSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf' });
    assert.deepEqual([s.metricsProtocol, s.tracesProtocol, s.warnings], ['http/json', 'http/protobuf', []]);
    const g = otelSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json' });
    assert.deepEqual([g.metricsProtocol, g.tracesProtocol, g.warnings], ['http/json', 'grpc', []]);
    const t = otelSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' });
    assert.deepEqual([t.metricsProtocol, t.tracesProtocol], ['http/protobuf', 'grpc']);
    const u = otelSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_EXPORTER_OTLP_PROTOCOL: 'GRPC', OTEL_METRICS_EXPORTER: 'prometheus' });
    assert.equal(u.metricsProtocol, 'http/protobuf');
    assert.equal(u.metrics, true);
    assert.deepEqual(u.warnings, [
      'OTEL_METRICS_EXPORTER=prometheus is not supported (supported: otlp, none); using otlp',
      'OTEL_EXPORTER_OTLP_PROTOCOL=GRPC is not supported (supported: http/protobuf, http/json, grpc); using http/protobuf',
      'OTEL_EXPORTER_OTLP_PROTOCOL=GRPC is not supported (supported: http/protobuf, http/json, grpc); using http/protobuf',
    ]);
  });

  it('defaults to a 60 s export and keeps the timeout within the interval', () => {
    const d = otelSettings({});
    assert.deepEqual([d.exportIntervalMs, d.exportTimeoutMs, d.spanScheduleDelayMs], [60_000, 30_000, 5_000]);
    const s = otelSettings({ OTEL_METRIC_EXPORT_INTERVAL: '500' });
    assert.deepEqual([s.exportIntervalMs, s.exportTimeoutMs], [500, 500]);
    const bad = otelSettings({ OTEL_METRIC_EXPORT_INTERVAL: '-3' });
    assert.equal(bad.exportIntervalMs, 60_000);
    assert.equal(bad.warnings.length, 1);
  });

  it('bounds the final flush by the OTLP timeout of the enabled signals, at most 3 s', () => {
    const on = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c' };
    assert.equal(otelSettings(on).shutdownTimeoutMs, 3_000, 'the 10 s OTLP default is cut to 3 s');
    assert.equal(otelSettings({ ...on, OTEL_EXPORTER_OTLP_TIMEOUT: '1500' }).shutdownTimeoutMs, 1_500);
    assert.equal(otelSettings({ ...on, OTEL_EXPORTER_OTLP_TIMEOUT: '500', OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '2000' }).shutdownTimeoutMs, 2_000);
    assert.equal(otelSettings({ ...on, OTEL_EXPORTER_OTLP_TIMEOUT: '500', OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '2000', OTEL_TRACES_EXPORTER: 'none' }).shutdownTimeoutMs, 500);
    assert.equal(otelSettings({ ...on, OTEL_EXPORTER_OTLP_TIMEOUT: 'soon' }).shutdownTimeoutMs, 3_000);
    assert.equal(otelSettings({ ...on, OTEL_EXPORTER_OTLP_TIMEOUT: 'soon' }).warnings.length, 0, 'the exporters report a bad timeout themselves');
  });
});
