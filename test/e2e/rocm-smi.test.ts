// End to end: the real exporter against the fake rocm-smi replaying the
// telegraf `--json` captures in test/fixtures/amd, whole /metrics diffed
// against golden files and linted with promtool.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { FAKE_TOOLS, FIXTURES, startExporter, waitFor } from '../helpers/exporter.ts';
import { firstSample, goldenScenarios, type GoldenScenario } from '../helpers/golden-e2e.ts';

const FAKE = path.join(FAKE_TOOLS, 'rocm-smi');
const fx = (f: string) => ({ FAKE_ROCM_SMI_OUTPUT: path.join(FIXTURES, 'amd', f) });
const MI100 = fx('rocm-smi_json__telegraf__mi100_rocm571.json');
const RX_612 = fx('rocm-smi_json__telegraf__rx6700xt_rocm612.json');

const SCENARIOS: readonly GoldenScenario[] = [
  { golden: 'amd/rocm-smi-mi100-6x-rocm5.7.1.prom', env: MI100 },
  { golden: 'amd/rocm-smi-rx6700xt-rocm6.1.2.prom', env: RX_612 },
  { golden: 'amd/rocm-smi-vega20-mi50.prom', env: fx('rocm-smi_json__telegraf__vega-20-WKS-GL-XE.json') },
  // A WARNING line before the JSON, or a non-zero exit after a complete document, serve the same page.
  { golden: 'amd/rocm-smi-rx6700xt-rocm6.1.2.prom', env: { ...RX_612, FAKE_ROCM_SMI_MODE: 'warning' }, title: 'warning line' },
  { golden: 'amd/rocm-smi-rx6700xt-rocm6.1.2.prom', env: { ...RX_612, FAKE_ROCM_SMI_MODE: 'partial-fail' }, title: 'partial failure' },
  { golden: 'amd/rocm-smi-fail-hang.prom', env: { ...RX_612, FAKE_ROCM_SMI_MODE: 'hang' }, args: ['--collect.timeout=2s'] },
  { golden: 'amd/rocm-smi-fail-init.prom', env: { ...RX_612, FAKE_ROCM_SMI_MODE: 'fail' } },
  { golden: 'amd/rocm-smi-fail-garbage.prom', env: { ...RX_612, FAKE_ROCM_SMI_MODE: 'garbage' } },
  { golden: 'amd/rocm-smi-no-devices.prom', env: { ...RX_612, FAKE_ROCM_SMI_MODE: 'no-devices' } },
  { golden: 'amd/rocm-smi-no-driver.prom', env: { ...RX_612, FAKE_ROCM_SMI_MODE: 'no-driver' } },
  { golden: 'amd/rocm-smi-no-tool.prom', env: RX_612, args: ['--rocm-smi.path=/nonexistent/rocm-smi'] },
];

describe('rocm-smi end to end', { concurrency: 2 }, () => {
  goldenScenarios('rocm-smi', FAKE, SCENARIOS);

  it('runs one rocm-smi with the captured flag set per sample, and logs its own error text on failure', async () => {
    const log = path.join(mkdtempSync(path.join(tmpdir(), 'ae-')), 'runs.log');
    const e = await startExporter(['--collect.interval=1h', '--collect.timeout=20s', `--rocm-smi.path=${FAKE}`], { ...RX_612, FAKE_ROCM_SMI_MODE: 'fail', FAKE_ROCM_SMI_LOG: log });
    try {
      await firstSample(e, 'rocm-smi');
      const warn = await waitFor('the failure log', async () => e.logs.find((l) => l.msg === 'backend failed'));
      assert.match(String(warn.err), /ROCm SMI returned 8 \(the expected value is 0\)/);
      const runs = readFileSync(log, 'utf8').split('\n').filter(Boolean);
      assert.equal(runs.length, 1);
      assert.match(runs[0]!, /^-o -l -m .* --showmeminfo all .* --json$/);
    } finally {
      await e.stop();
    }
  });
});
