// End to end: the real exporter process with the fake nvidia-smi, pushing
// OTLP to a receiver on loopback. What arrives over OTLP must be what the same
// run's /metrics says, under the OpenTelemetry names; a collection cycle must
// arrive as one trace; nothing may be sent when nothing is configured.

import assert from 'node:assert/strict';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { snapshotFamilies } from '../../src/metrics/catalog.ts';
import { attributeKey, exportedFamilies, instrumentSpec } from '../../src/telemetry/otel-names.ts';
import { FAKE_TOOLS, FIXTURES, startExporter, waitFor, type RunningExporter } from '../helpers/exporter.ts';
import { startGrpcReceiver, startReceiver, type Attrs, type MetricsExport, type Receiver, type ReceivedSpan } from './otlp-receiver.ts';

const FAKE = path.join(FAKE_TOOLS, 'nvidia-smi');
const H100 = path.join(FIXTURES, 'nvidia/capture_h100-80gb-hbm3_590.48.01_linux.txt');
const UUID = 'GPU-00000000-0000-0000-0000-000000000000';

/** Every OTEL_* variable blanked, so the developer's or CI's environment cannot leak into a test. */
const NO_OTEL = Object.fromEntries(Object.keys(process.env).filter((k) => k.startsWith('OTEL_')).map((k) => [k, '']));

function exporter(receiver: Receiver | undefined, env: Record<string, string>, args: string[] = []): Promise<RunningExporter> {
  // A generous tool bound: on a loaded machine the fake nvidia-smi (a Node process) can take
  // longer than the default 5 s, and with a 1 h interval a timed-out first sample is the only one.
  return startExporter(['--collect.interval=1h', '--collect.timeout=60s', `--nvidia-smi.path=${FAKE}`, ...args], {
    ...NO_OTEL,
    FAKE_NVIDIA_SMI_CAPTURE: H100,
    ...(receiver ? { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } : {}),
    ...env,
  });
}

async function firstSample(e: RunningExporter): Promise<string> {
  return waitFor('the first nvidia-smi sample', async () => {
    const r = await e.scrape();
    return r.body.includes('accelerator_exporter_backend_state{backend="nvidia-smi"') && r.body;
  }, 90_000);
}

interface PromSample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

function parseProm(body: string): PromSample[] {
  const out: PromSample[] = [];
  for (const line of body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `unparseable line ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = JSON.parse(`"${l[2]}"`) as string;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** `name{k=v,...} value` lines, sorted, so two sides compare as whole sets with a readable diff. */
function lines(points: { name: string; attributes: Attrs; value: number }[]): string[] {
  return points
    .map((p) => `${p.name}{${Object.entries(p.attributes).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${String(v)}`).join(',')}} ${p.value}`)
    .sort();
}

function point(exp: MetricsExport, name: string, attrs: Attrs): { unit: string; value: number } | undefined {
  const m = exp.metrics.find((x) => x.name === name);
  const p = m?.points.find((pt) => Object.entries(attrs).every(([k, v]) => pt.attributes[k] === v));
  return m && p ? { unit: m.unit, value: p.value } : undefined;
}

function cycles(spans: readonly ReceivedSpan[]): { cycle: ReceivedSpan; tools: ReceivedSpan[] }[] {
  return spans
    .filter((s) => s.name === 'collect nvidia-smi')
    .map((cycle) => ({ cycle, tools: spans.filter((s) => s.parentSpanId === cycle.spanId) }));
}

/**
 * One export against the same run's /metrics: the sample's key values under the
 * semantic-convention names and units, then every series of every exported family,
 * translated by label, equal to the OTLP points of its instrument, and nothing more.
 */
function assertSameAsScrape(exp: MetricsExport, body: string): void {
  assert.equal(exp.resource['service.name'], 'accelerator-exporter');

  const gpu = { 'hw.id': UUID, 'hw.type': 'gpu', 'hw.vendor': 'nvidia', 'hw.model': 'NVIDIA H100 80GB HBM3', 'accelerator.pci_bus_id': '0000:00:09.0', 'accelerator.index': '0' };
  assert.deepEqual(point(exp, 'hw.gpu.utilization', gpu), { unit: '1', value: 1 });
  assert.deepEqual(point(exp, 'hw.gpu.memory.usage', gpu), { unit: 'By', value: 20780679168 });
  assert.deepEqual(point(exp, 'hw.gpu.memory.limit', gpu), { unit: 'By', value: 85520809984 });
  assert.deepEqual(point(exp, 'hw.power', gpu), { unit: 'W', value: 631.95 });
  assert.deepEqual(point(exp, 'hw.temperature', { ...gpu, 'hw.sensor_location': 'gpu' }), { unit: 'Cel', value: 59 });
  const errors = exp.metrics.find((m) => m.name === 'hw.errors');
  assert.equal(errors?.kind, 'sum');
  assert.equal(errors?.monotonic, true);
  assert.equal(errors?.unit, '{error}');

  // Whole-set comparison: every series of every snapshot family in /metrics, translated by
  // label, equals the OTLP points of its instrument, and OTLP carries nothing more.
  const families = exportedFamilies(snapshotFamilies({ version: '', nodeVersion: '' }));
  const byName = new Map(families.map((f) => [f.name, instrumentSpec(f)]));
  const expected = parseProm(body)
    .filter((s) => byName.has(s.name))
    .map((s) => {
      const spec = byName.get(s.name)!;
      const attributes: Attrs = { ...spec.constantAttributes };
      // An empty label is an absent label in Prometheus; the exporter sends no empty attribute.
      for (const [k, v] of Object.entries(s.labels)) if (v !== '') attributes[attributeKey(k)] = v;
      return { name: spec.name, attributes, value: s.value };
    });
  const names = new Set([...byName.values()].map((s) => s.name));
  const received = exp.metrics.filter((m) => names.has(m.name)).flatMap((m) => m.points.map((p) => ({ name: m.name, ...p })));
  assert.deepEqual(lines(received), lines(expected));
  assert.ok(expected.length > 50, `only ${expected.length} series compared`);
  for (const f of families) {
    const m = exp.metrics.find((x) => x.name === byName.get(f.name)!.name);
    if (!m) continue;
    assert.equal(m.description, f.help);
    assert.equal(m.kind, f.type === 'counter' ? 'sum' : 'gauge', f.name);
  }
  assert.ok(!exp.metrics.some((m) => m.name.startsWith('process')), 'process_* families stay Prometheus-only');
}

/** After a SIGTERM flush with one collection cycle: that cycle is one trace with a child per tool run, and nothing else. */
function assertOneCycleFlushed(r: Receiver): void {
  const spans = r.traces.flatMap((t) => t.spans);
  const [c, ...more] = cycles(spans);
  assert.ok(c, 'the cycle span was flushed');
  assert.equal(more.length, 0);
  assert.equal(c.cycle.parentSpanId, '');
  assert.deepEqual(c.cycle.attributes['accelerator.outcome'], 'ok');
  assert.deepEqual(c.cycle.attributes['accelerator.backend'], 'nvidia-smi');
  assert.deepEqual(c.cycle.attributes['accelerator.devices'], 1);
  // First cycle: field discovery, the GPU query, the process query.
  assert.deepEqual(
    c.tools.map((t) => [t.name, t.traceId, (t.attributes['process.command_args'] as string[])[1]!.split('=')[0], t.attributes['accelerator.outcome'], t.attributes['process.exit.code']]),
    [
      ['exec nvidia-smi', c.cycle.traceId, '--help-query-gpu', 'ok', 0],
      ['exec nvidia-smi', c.cycle.traceId, '--query-gpu', 'ok', 0],
      ['exec nvidia-smi', c.cycle.traceId, '--query-compute-apps', 'ok', 0],
    ],
  );
  for (const t of c.tools) assert.equal(typeof t.attributes['accelerator.duration_s'], 'number');
  assert.equal(spans.length, 4, 'no span outside the cycle');
}

// One exporter at a time: the machine has two cores and other suites run tools under a 1 s bound.
describe('OTLP export', { concurrency: 1 }, () => {
  let receiver: Receiver;
  before(async () => {
    receiver = await startReceiver();
  });
  after(() => receiver.close());

  it('pushes the same metrics as /metrics over http/protobuf, under the semantic-convention names', async () => {
    const r = await startReceiver();
    const e = await exporter(r, { OTEL_METRIC_EXPORT_INTERVAL: '200', NODE_NAME: 'node-a', OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test' });
    try {
      await firstSample(e);
      // The poller samples once an hour: after the first sample, every later export reads the same snapshot.
      const exp = await waitFor('an export holding the sample', async () => r.metrics.find((m) => m.metrics.some((x) => x.name === 'hw.gpu.utilization')));
      const body = (await e.scrape()).body;
      assert.equal(exp.contentType, 'application/x-protobuf');
      assert.equal(exp.resource['k8s.node.name'], 'node-a');
      assert.equal(exp.resource['deployment.environment.name'], 'test');

      assertSameAsScrape(exp, body);
    } finally {
      await e.stop();
      await r.close();
    }
  });

  it('flushes pending spans and metrics on SIGTERM; a cycle is one trace with a child per tool run', async () => {
    const r = await startReceiver();
    // Intervals far beyond the test: only the shutdown can make anything leave.
    const e = await exporter(r, { OTEL_METRIC_EXPORT_INTERVAL: '600000', OTEL_BSP_SCHEDULE_DELAY: '600000' });
    try {
      await firstSample(e);
    } finally {
      assert.equal(await e.stop(), 0);
    }
    try {
      assert.ok(r.metrics.some((m) => point(m, 'hw.power', { 'hw.id': UUID })?.value === 631.95), 'the last metrics were flushed');
      assertOneCycleFlushed(r);
      // The shutdown is not part of any cycle, though the first signal listener may be added inside one.
      const shutdown = e.logs.find((l) => l.msg === 'shutting down');
      assert.ok(shutdown);
      assert.equal(shutdown.trace_id, undefined);
    } finally {
      await r.close();
    }
  });

  it('pushes the same metrics over gRPC, headers as metadata, and flushes the cycle as one trace on SIGTERM', async () => {
    const r = await startGrpcReceiver();
    const e = await exporter(r, {
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=test-key',
      // The SDK bounds an export by the interval; the first one also opens the HTTP/2
      // connection, which takes longer than 200 ms on a loaded machine.
      OTEL_METRIC_EXPORT_INTERVAL: '2000',
      OTEL_BSP_SCHEDULE_DELAY: '600000',
    });
    try {
      await firstSample(e);
      const exp = await waitFor('a gRPC export holding the sample', async () => r.metrics.find((m) => m.metrics.some((x) => x.name === 'hw.gpu.utilization')));
      assertSameAsScrape(exp, (await e.scrape()).body);
    } finally {
      assert.equal(await e.stop(), 0);
    }
    try {
      assertOneCycleFlushed(r);
      const on = e.logs.find((l) => l.msg === 'OpenTelemetry export on') as { metrics?: { protocol?: string }; traces?: { protocol?: string } } | undefined;
      assert.deepEqual([on?.metrics?.protocol, on?.traces?.protocol], ['grpc', 'grpc']);
      assert.ok(!e.logs.some((l) => String(l.msg).startsWith('opentelemetry:')), 'no export failure');
      const paths = new Set(r.requests.map((q) => q.path));
      assert.deepEqual([...paths].sort(), ['/opentelemetry.proto.collector.metrics.v1.MetricsService/Export', '/opentelemetry.proto.collector.trace.v1.TraceService/Export']);
      assert.ok(r.requests.every((q) => q.headers['x-api-key'] === 'test-key'), 'OTEL_EXPORTER_OTLP_HEADERS arrive as gRPC metadata');
    } finally {
      await r.close();
    }
  });

  it('picks the protocol per signal: traces over gRPC (scheme-less endpoint, OTEL_EXPORTER_OTLP_INSECURE), metrics over http/protobuf', async () => {
    const g = await startGrpcReceiver();
    const h = await startReceiver();
    const e = await exporter(undefined, {
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: g.url.replace('http://', ''),
      OTEL_EXPORTER_OTLP_INSECURE: 'true',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${h.url}/v1/metrics`,
      OTEL_METRIC_EXPORT_INTERVAL: '600000',
      OTEL_BSP_SCHEDULE_DELAY: '600000',
    });
    try {
      await firstSample(e);
    } finally {
      assert.equal(await e.stop(), 0);
    }
    try {
      assertOneCycleFlushed(g);
      assert.deepEqual([g.metrics.length, h.traces.length], [0, 0]);
      assert.ok(h.metrics.some((m) => m.contentType === 'application/x-protobuf' && point(m, 'hw.power', { 'hw.id': UUID })?.value === 631.95));
    } finally {
      await g.close();
      await h.close();
    }
  });

  it('sends a trace per cycle over http/json, and log lines of a cycle carry its trace id', async () => {
    const r = await startReceiver();
    const e = await exporter(r, { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '50', OTEL_METRIC_EXPORT_INTERVAL: '600000' }, ['--collect.interval=1s']);
    try {
      const found = await waitFor('two collection cycles', async () => {
        const cs = cycles(r.traces.flatMap((t) => t.spans));
        return cs.length >= 2 && cs.every((c) => c.tools.length >= 2) && cs;
      });
      assert.ok(r.traces.every((t) => t.contentType.startsWith('application/json')));
      assert.equal(new Set(found.map((c) => c.cycle.traceId)).size, found.length, 'each cycle is its own trace');
      for (const c of found) for (const t of c.tools) assert.equal(t.traceId, c.cycle.traceId);
      // Later cycles reuse the discovered fields: two tool runs each.
      assert.deepEqual(found.slice(1).map((c) => c.tools.length), found.slice(1).map(() => 2));

      const first = found.find((c) => c.tools.length === 3)!.cycle;
      const log = e.logs.find((l) => l.msg === 'backend reading devices');
      assert.equal(log?.trace_id, first.traceId);
      assert.equal(log?.span_id, first.spanId);
      const discovered = e.logs.find((l) => l.msg === 'nvidia-smi fields discovered');
      assert.equal(discovered?.trace_id, first.traceId);
      const listening = e.logs.find((l) => l.msg === 'listening');
      assert.equal(listening?.trace_id, undefined, 'lines outside a cycle carry no trace id');
    } finally {
      await e.stop();
      await r.close();
    }
  });

  it('marks a failed cycle and its tool run as errors with the tool\'s text', async () => {
    const r = await startReceiver();
    const e = await exporter(r, { FAKE_NVIDIA_SMI_MODE: 'fail-driver', OTEL_METRIC_EXPORT_INTERVAL: '600000', OTEL_BSP_SCHEDULE_DELAY: '600000' });
    try {
      await firstSample(e);
    } finally {
      await e.stop();
    }
    try {
      const [c] = cycles(r.traces.flatMap((t) => t.spans));
      assert.ok(c);
      assert.equal(c.cycle.status.code, 2);
      assert.equal(c.cycle.attributes['accelerator.outcome'], 'failed');
      assert.equal(c.cycle.attributes['error.type'], 'exit_code');
      assert.match(c.cycle.status.message, /couldn't communicate with the NVIDIA driver/);
      const failed = c.tools.find((t) => t.status.code === 2);
      assert.ok(failed);
      assert.equal(failed.attributes['error.type'], 'exit_code');
      assert.notEqual(failed.attributes['process.exit.code'], 0);
      const warn = e.logs.find((l) => l.msg === 'backend failed');
      assert.equal(warn?.trace_id, c.cycle.traceId);
    } finally {
      await r.close();
    }
  });

  it('honours OTEL_TRACES_SAMPLER: always_off sends no span and puts no trace id in the logs, metrics still flow', async () => {
    const r = await startReceiver();
    const e = await exporter(r, { OTEL_TRACES_SAMPLER: 'always_off', OTEL_METRIC_EXPORT_INTERVAL: '600000', OTEL_BSP_SCHEDULE_DELAY: '600000' });
    try {
      await firstSample(e);
    } finally {
      assert.equal(await e.stop(), 0);
    }
    try {
      assert.ok(r.metrics.some((m) => point(m, 'hw.power', { 'hw.id': UUID })?.value === 631.95), 'the last metrics were flushed');
      assert.deepEqual(r.traces.flatMap((t) => t.spans), []);
      assert.ok(e.logs.some((l) => l.msg === 'backend reading devices'));
      assert.ok(!e.logs.some((l) => 'trace_id' in l), 'a dropped trace is not referenced');
      const on = e.logs.find((l) => l.msg === 'OpenTelemetry export on') as { traces?: { sampler?: string } } | undefined;
      assert.equal(on?.traces?.sampler, 'always_off');
    } finally {
      await r.close();
    }
  });

  it('exits 0 within the shutdown grace when the collector is down: the final flush gives up after 3 s', async () => {
    // A loopback port nobody listens on: OTLP/HTTP retries a refused connection for the whole 10 s OTLP timeout.
    const closed = createNetServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const e = await exporter(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_METRIC_EXPORT_INTERVAL: '600000', OTEL_BSP_SCHEDULE_DELAY: '600000' });
    await firstSample(e);
    const t0 = performance.now();
    // main forces exit code 1 after 5 s: 0 means the flush let go in time.
    assert.equal(await e.stop(), 0);
    const elapsed = performance.now() - t0;
    assert.ok(elapsed < 5_000, `took ${Math.round(elapsed)} ms`);
    assert.deepEqual(
      e.logs.filter((l) => l.msg === 'OpenTelemetry final export did not finish in time; what was pending is dropped').map((l) => l.timeoutMs),
      [3_000],
    );
  });

  it('starts no OpenTelemetry export when no OTLP endpoint is configured', async () => {
    const e = await exporter(undefined, { OTEL_METRIC_EXPORT_INTERVAL: '100', OTEL_EXPORTER_OTLP_HEADERS: 'x=1' });
    try {
      await firstSample(e);
    } finally {
      assert.equal(await e.stop(), 0);
    }
    const off = e.logs.find((l) => l.msg === 'OpenTelemetry export off');
    assert.deepEqual(off?.reasons, [
      'neither OTEL_EXPORTER_OTLP_ENDPOINT nor OTEL_EXPORTER_OTLP_METRICS_ENDPOINT is set',
      'neither OTEL_EXPORTER_OTLP_ENDPOINT nor OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set',
    ]);
    assert.ok(!e.logs.some((l) => l.msg === 'OpenTelemetry export on'));
    assert.ok(!e.logs.some((l) => 'trace_id' in l), 'no spans, so no trace ids');
  });

  it('sends nothing with OTEL_SDK_DISABLED=true, even with an endpoint and a shutdown flush', async () => {
    const start = receiver.requests.length;
    const e = await exporter(receiver, { OTEL_SDK_DISABLED: 'true', OTEL_METRIC_EXPORT_INTERVAL: '100' });
    try {
      await firstSample(e);
    } finally {
      assert.equal(await e.stop(), 0);
    }
    assert.deepEqual(e.logs.find((l) => l.msg === 'OpenTelemetry export off')?.reasons, ['OTEL_SDK_DISABLED=true']);
    assert.equal(receiver.requests.length, start);
  });
});
