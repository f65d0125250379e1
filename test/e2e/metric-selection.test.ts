// End to end: --metrics.include/--metrics.exclude on the real exporter process
// against the fake nvidia-smi replaying the H100 capture. /metrics is diffed
// whole against a golden with the recommended fleet exclusion; OTLP, pushed by
// the same process, must carry none of the excluded families.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { allFamilies } from '../../src/metrics/catalog.ts';
import { FLEET_LEAN_EXCLUDE, metricSelection, selectFamilies } from '../../src/metrics/selection.ts';
import { exportedFamilies, instrumentSpec } from '../../src/telemetry/otel-names.ts';
import { startReceiver } from '../otel/otlp-receiver.ts';
import { BIN, FAKE_TOOLS, FIXTURES, ROOT, startExporter, waitFor } from '../helpers/exporter.ts';
import { firstSample, goldenScenarios } from '../helpers/golden-e2e.ts';
import { GOLDEN_DIR } from '../helpers/golden.ts';

const FAKE = path.join(FAKE_TOOLS, 'nvidia-smi');
const H100 = path.join(FIXTURES, 'nvidia/capture_h100-80gb-hbm3_590.48.01_linux.txt');
const NO_OTEL = Object.fromEntries(Object.keys(process.env).filter((k) => k.startsWith('OTEL_')).map((k) => [k, '']));

function familiesIn(body: string): string[] {
  return [...body.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]!);
}

describe('metric selection end to end', { concurrency: 2 }, () => {
  goldenScenarios('nvidia-smi', FAKE, [{ golden: 'nvidia/h100-load-fleet-lean.prom', env: { FAKE_NVIDIA_SMI_CAPTURE: H100 }, args: [`--metrics.exclude=${FLEET_LEAN_EXCLUDE}`] }]);

  it('serves only the included families and every self metric, taking the globs from the environment', async () => {
    const e = await startExporter(['--collect.interval=1h', '--collect.timeout=20s', `--nvidia-smi.path=${FAKE}`], {
      FAKE_NVIDIA_SMI_CAPTURE: H100,
      ACCELERATOR_EXPORTER_METRICS_INCLUDE: 'hw_power_*,accelerator_device_up,nvml_*',
    });
    try {
      const body = await firstSample(e, 'nvidia-smi');
      // Every self family the unfiltered run serves (test/golden/nvidia/h100-load.prom).
      const self = familiesIn(readFileSync(path.join(GOLDEN_DIR, 'nvidia/h100-load.prom'), 'utf8')).filter((n) => n.startsWith('accelerator_exporter_'));
      assert.ok(self.length > 10);
      assert.deepEqual(familiesIn(body).sort(), ['hw_power_watts', 'accelerator_device_up', ...self].sort());
      const warn = e.logs.find((l) => l.msg === 'metric selection globs match no metric family');
      assert.deepEqual(warn?.globs, ['nvml_*']);
      assert.equal(warn?.level, 'warn');
    } finally {
      await e.stop();
    }
  });

  it('pushes no excluded family over OTLP, and every kept one', async () => {
    const r = await startReceiver();
    const e = await startExporter(['--collect.interval=1h', '--collect.timeout=20s', `--nvidia-smi.path=${FAKE}`, `--metrics.exclude=${FLEET_LEAN_EXCLUDE},hw_temperature_celsius`], {
      ...NO_OTEL,
      FAKE_NVIDIA_SMI_CAPTURE: H100,
      OTEL_EXPORTER_OTLP_ENDPOINT: r.url,
      OTEL_METRIC_EXPORT_INTERVAL: '200',
    });
    try {
      await firstSample(e, 'nvidia-smi');
      const exp = await waitFor('an export holding the sample', async () => r.metrics.find((m) => m.metrics.some((x) => x.name === 'hw.gpu.utilization')));
      const body = (await e.scrape()).body;
      const served = new Set(familiesIn(body));
      const otelName = new Map(exportedFamilies(allFamilies()).map((f) => [f.name, instrumentSpec(f).name]));
      const kept = selectFamilies(allFamilies(), metricSelection({ 'metrics.exclude': `${FLEET_LEAN_EXCLUDE},hw_temperature_celsius` })).families.map((f) => f.name);
      const received = new Set(exp.metrics.map((m) => m.name));
      for (const f of allFamilies()) {
        const name = otelName.get(f.name);
        if (!name) continue;
        if (!kept.includes(f.name)) {
          assert.ok(!received.has(name), `${f.name} is excluded but arrived over OTLP as ${name}`);
          assert.ok(!served.has(f.name), `${f.name} is excluded but served`);
        } else if (served.has(f.name)) {
          assert.ok(received.has(name), `${f.name} is served but did not arrive over OTLP as ${name}`);
        }
      }
      assert.ok(!received.has('hw.temperature'));
      assert.ok(received.has('hw.power'));
    } finally {
      await e.stop();
      await r.close();
    }
  });

  it('rejects an exclusion of self metrics only, and a bad glob, with one line and status 2', () => {
    const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 15_000 });
    const self = run(['--metrics.exclude=accelerator_exporter_tool_*']);
    assert.equal(self.status, 2);
    assert.equal(self.stderr, 'accelerator-exporter: --metrics.exclude "accelerator_exporter_tool_*" matches only self metrics (accelerator_exporter_*), which are always served\n');
    const bad = run(['--metrics.include=hw_[a-z]*']);
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr, 'accelerator-exporter: invalid value "hw_[a-z]*" for flag --metrics.include: "hw_[a-z]*" is not a family-name glob (letters, digits, _, :, * and ? only)\n');
  });
});
