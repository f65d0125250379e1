// End to end: the real exporter against the fake amd-smi replaying the
// fixtures in test/fixtures/amd, whole /metrics diffed against golden files
// and linted with promtool.

import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { FAKE_TOOLS, FIXTURES, startExporter, waitFor } from '../helpers/exporter.ts';
import { firstSample, goldenScenarios, type GoldenScenario } from '../helpers/golden-e2e.ts';

const FAKE = path.join(FAKE_TOOLS, 'amd-smi');
const fx = (f: string) => path.join(FIXTURES, 'amd', f);
const RADEON = {
  FAKE_AMD_SMI_STATIC: fx('constructed_amd-smi_static_json__rocm6.3-shape__46GB-radeon.json'),
  FAKE_AMD_SMI_METRIC: fx('amd-smi_metric_json__list-format_amdsmi-rocm6.3-era__46GB-radeon__jkoudela-amd-smi-exporter.json'),
  FAKE_AMD_SMI_PROCESS: fx('constructed_amd-smi_process_json__rocm6.3-shape__46GB-radeon.json'),
};
const MI300X_CPX = {
  FAKE_AMD_SMI_STATIC: fx('constructed_amd-smi_static_json__rocm7-gpu_data__mi300x-cpx.json'),
  FAKE_AMD_SMI_METRIC: fx('constructed_amd-smi_metric_json__rocm7-gpu_data__mi300x-cpx.json'),
  FAKE_AMD_SMI_PROCESS: fx('constructed_amd-smi_process_json__rocm7-bare-array__mi300x-cpx.json'),
};

const SCENARIOS: readonly GoldenScenario[] = [
  { golden: 'amd/amd-smi-radeon-rocm6.3.prom', env: RADEON },
  { golden: 'amd/amd-smi-mi300x-cpx-rocm7.prom', env: MI300X_CPX },
  { golden: 'amd/amd-smi-process-fails.prom', env: { ...RADEON, FAKE_AMD_SMI_MODE: 'process-fails' } },
  { golden: 'amd/amd-smi-fail-hang.prom', env: { ...RADEON, FAKE_AMD_SMI_MODE: 'hang' }, args: ['--collect.timeout=2s'] },
  { golden: 'amd/amd-smi-fail-driver.prom', env: { ...RADEON, FAKE_AMD_SMI_MODE: 'fail-driver' } },
  { golden: 'amd/amd-smi-fail-garbage.prom', env: { ...RADEON, FAKE_AMD_SMI_MODE: 'garbage' } },
  { golden: 'amd/amd-smi-no-devices.prom', env: { ...RADEON, FAKE_AMD_SMI_MODE: 'no-devices' } },
  { golden: 'amd/amd-smi-no-tool.prom', env: RADEON, args: ['--amd-smi.path=/nonexistent/amd-smi'] },
];

describe('amd-smi end to end', { concurrency: 1 }, () => {
  goldenScenarios('amd-smi', FAKE, SCENARIOS);

  it('logs the tool\'s own error text when amd-smi fails', async () => {
    const e = await startExporter(['--collect.interval=1h', '--no-backend.nvidia-smi', `--amd-smi.path=${FAKE}`], { ...RADEON, FAKE_AMD_SMI_MODE: 'fail-driver' });
    try {
      await firstSample(e, 'amd-smi');
      const warn = await waitFor('the failure log', async () => e.logs.find((l) => l.msg === 'backend failed'));
      assert.match(String(warn.err), /Unable to initialize amdsmi lib: AMDSMI_STATUS_DRM_ERROR/);
    } finally {
      await e.stop();
    }
  });
});
