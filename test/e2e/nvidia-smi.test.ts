// End to end: the real exporter process against the fake nvidia-smi replaying
// real captures, scraped over HTTP, diffed whole against golden files and
// linted with promtool.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { FAKE_TOOLS, FIXTURES, sampleValue, startExporter, waitFor } from '../helpers/exporter.ts';
import { firstSample, goldenScenarios, type GoldenScenario } from '../helpers/golden-e2e.ts';
import { assertGolden, normalize } from '../helpers/golden.ts';

// The goldens hold the nvidia-smi backend only, whatever other backends exist.

const FAKE = path.join(FAKE_TOOLS, 'nvidia-smi');
const CAPTURES = {
  h100: path.join(FIXTURES, 'nvidia/capture_h100-80gb-hbm3_590.48.01_linux.txt'),
  h100mig: path.join(FIXTURES, 'nvidia/capture_h100-80gb-hbm3-mig_590.48.01_linux.txt'),
  rtx2080: path.join(FIXTURES, 'nvidia/capture_rtx-2080-super_610.57.04_linux.txt'),
};

const SCENARIOS: readonly GoldenScenario[] = [
  { golden: 'nvidia/h100-load.prom', env: { FAKE_NVIDIA_SMI_CAPTURE: CAPTURES.h100 } },
  { golden: 'nvidia/h100-idle.prom', env: { FAKE_NVIDIA_SMI_CAPTURE: CAPTURES.h100, FAKE_NVIDIA_SMI_STATE: 'idle' } },
  { golden: 'nvidia/h100-mig-load.prom', env: { FAKE_NVIDIA_SMI_CAPTURE: CAPTURES.h100mig } },
  { golden: 'nvidia/rtx-2080-super-610-load.prom', env: { FAKE_NVIDIA_SMI_CAPTURE: CAPTURES.rtx2080 } },
  { golden: 'nvidia/fail-hang.prom', env: { FAKE_NVIDIA_SMI_CAPTURE: CAPTURES.h100, FAKE_NVIDIA_SMI_MODE: 'hang' }, args: ['--collect.timeout=2s'] },
  { golden: 'nvidia/fail-driver.prom', env: { FAKE_NVIDIA_SMI_CAPTURE: CAPTURES.h100, FAKE_NVIDIA_SMI_MODE: 'fail-driver' } },
  { golden: 'nvidia/fail-garbage.prom', env: { FAKE_NVIDIA_SMI_CAPTURE: CAPTURES.h100, FAKE_NVIDIA_SMI_MODE: 'garbage' } },
  { golden: 'nvidia/no-devices.prom', env: { FAKE_NVIDIA_SMI_CAPTURE: CAPTURES.h100, FAKE_NVIDIA_SMI_MODE: 'no-devices' } },
  { golden: 'nvidia/gpu-lost.prom', env: { FAKE_NVIDIA_SMI_CAPTURE: CAPTURES.h100, FAKE_NVIDIA_SMI_MODE: 'lost-gpu', FAKE_NVIDIA_SMI_GPUS: '3' } },
  { golden: 'nvidia/no-tool.prom', env: { FAKE_NVIDIA_SMI_CAPTURE: CAPTURES.h100 }, args: ['--nvidia-smi.path=/nonexistent/nvidia-smi'] },
];

describe('nvidia-smi end to end', { concurrency: 4 }, () => {
  goldenScenarios('nvidia-smi', FAKE, SCENARIOS);

  it('serves OpenMetrics when the scraper asks for it', async () => {
    const e = await startExporter(['--collect.interval=1h', `--nvidia-smi.path=${FAKE}`], { FAKE_NVIDIA_SMI_CAPTURE: CAPTURES.h100 });
    try {
      await firstSample(e, 'nvidia-smi');
      const r = await e.scrape('application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1');
      assert.equal(r.contentType, 'application/openmetrics-text; version=1.0.0; charset=utf-8');
      assertGolden('nvidia/h100-load.openmetrics', normalize(r.body));
    } finally {
      await e.stop();
    }
  });

  it('never starts nvidia-smi for a scrape', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ae-'));
    const log = path.join(dir, 'runs.log');
    const e = await startExporter(['--collect.interval=1h', `--nvidia-smi.path=${FAKE}`], { FAKE_NVIDIA_SMI_CAPTURE: CAPTURES.h100, FAKE_NVIDIA_SMI_LOG: log });
    try {
      await firstSample(e, 'nvidia-smi');
      const runs = readFileSync(log, 'utf8');
      // Discovery, then one --query-gpu and one --query-compute-apps.
      assert.deepEqual(runs.split('\n').filter(Boolean).map((l) => l.split('=')[0]), ['--help-query-gpu', '--query-gpu', '--query-compute-apps']);
      for (let i = 0; i < 50; i++) assert.equal((await e.scrape()).status, 200);
      assert.equal(readFileSync(log, 'utf8'), runs);
    } finally {
      await e.stop();
    }
  });

  it('answers scrapes while nvidia-smi hangs, then reports the timeout', async () => {
    const e = await startExporter(['--collect.interval=1h', '--collect.timeout=5s', `--nvidia-smi.path=${FAKE}`], {
      FAKE_NVIDIA_SMI_CAPTURE: CAPTURES.h100,
      FAKE_NVIDIA_SMI_MODE: 'hang',
    });
    try {
      const during = await e.scrape();
      assert.equal(during.status, 200);
      assert.equal(sampleValue(during.body, 'accelerator_exporter_backend_state', { backend: 'nvidia-smi', state: 'failed' }), undefined, 'the sample is still running');
      assert.equal((await e.get('/readyz')).status, 503);
      assert.equal((await e.get('/healthz')).status, 200);
      const after = await firstSample(e, 'nvidia-smi');
      assert.equal(sampleValue(after, 'accelerator_exporter_backend_failures_total', { reason: 'timeout' }), 1);
      assert.equal((await e.get('/readyz')).status, 503);
    } finally {
      await e.stop();
    }
  });

  it('drops a failing backend\'s series after the grace period and brings them back on recovery', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ae-'));
    const modeFile = path.join(dir, 'mode');
    writeFileSync(modeFile, 'ok');
    const e = await startExporter(['--collect.interval=300ms', '--collect.grace-intervals=3', `--nvidia-smi.path=${FAKE}`], {
      FAKE_NVIDIA_SMI_CAPTURE: CAPTURES.h100,
      FAKE_NVIDIA_SMI_MODE_FILE: modeFile,
    });
    const util = (body: string) => sampleValue(body, 'hw_gpu_utilization_ratio');
    try {
      await waitFor('device series', async () => util((await e.scrape()).body) === 1);
      assert.equal((await e.get('/readyz')).status, 200);
      writeFileSync(modeFile, 'fail-driver');
      const failing = await waitFor('the failure', async () => {
        const b = (await e.scrape()).body;
        return sampleValue(b, 'accelerator_exporter_backend_state', { state: 'failed' }) === 1 && b;
      });
      // Inside the grace period the last good values are still served, and said to be.
      if (util(failing) !== undefined) assert.equal(sampleValue(failing, 'accelerator_exporter_backend_serving_last_good'), 1);
      const dropped = await waitFor('series dropped', async () => {
        const b = (await e.scrape()).body;
        return util(b) === undefined && b;
      });
      assert.equal(sampleValue(dropped, 'hw_gpu_memory_usage_bytes'), undefined);
      assert.equal(sampleValue(dropped, 'accelerator_exporter_backend_devices'), 0);
      assert.ok(sampleValue(dropped, 'accelerator_exporter_backend_failures_total', { reason: 'exit_code' })! >= 1);
      const warns = e.logs.filter((l) => l.msg === 'backend failed');
      assert.equal(warns.length, 1, 'a repeated failure is logged once');
      assert.match(String(warns[0]!.err), /couldn't communicate with the NVIDIA driver/);
      writeFileSync(modeFile, 'ok');
      const back = await waitFor('recovery', async () => {
        const b = (await e.scrape()).body;
        return util(b) === 1 && b;
      });
      assert.equal(sampleValue(back, 'accelerator_exporter_backend_state', { state: 'ok' }), 1);
      assert.ok(e.logs.some((l) => l.msg === 'backend recovered'));
    } finally {
      await e.stop();
    }
  });

  it('exits 0 on SIGTERM', async () => {
    const e = await startExporter(['--collect.interval=1h', `--nvidia-smi.path=${FAKE}`], { FAKE_NVIDIA_SMI_CAPTURE: CAPTURES.h100 });
    await firstSample(e, 'nvidia-smi');
    assert.equal(await e.stop(), 0);
  });
});
