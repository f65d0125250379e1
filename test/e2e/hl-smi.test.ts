// End to end: the real exporter against the fake hl-smi replaying real Gaudi
// captures, scraped over HTTP, diffed whole against golden files and linted.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { FAKE_TOOLS, FIXTURES, startExporter, waitFor } from '../helpers/exporter.ts';
import { firstSample, goldenScenarios, type GoldenScenario } from '../helpers/golden-e2e.ts';

const FAKE = path.join(FAKE_TOOLS, 'hl-smi');
const GAUDI3 = path.join(FIXTURES, 'gaudi/hl-smi_query-aip_csv_noheader__HL-325L_gaudi3_2rows__1.22.1__all-smi.csv');
const GAUDI1 = path.join(FIXTURES, 'gaudi/hl-smi_query-aip_csv_nounits__HL-205_gaudi1_8x__hl-1.18.0__slurm-monitor.csv');

const SCENARIOS: readonly GoldenScenario[] = [
  { golden: 'gaudi/hl-325l-gaudi3.prom', env: { FAKE_HL_SMI_CAPTURE: GAUDI3 } },
  { golden: 'gaudi/hl-205-gaudi1.prom', env: { FAKE_HL_SMI_CAPTURE: GAUDI1 } },
  { golden: 'gaudi/fail-hang.prom', env: { FAKE_HL_SMI_CAPTURE: GAUDI3, FAKE_HL_SMI_MODE: 'hang' }, args: ['--collect.timeout=2s'] },
  { golden: 'gaudi/fail-driver.prom', env: { FAKE_HL_SMI_CAPTURE: GAUDI3, FAKE_HL_SMI_MODE: 'fail' } },
  { golden: 'gaudi/fail-garbage.prom', env: { FAKE_HL_SMI_CAPTURE: GAUDI3, FAKE_HL_SMI_MODE: 'garbage' } },
  { golden: 'gaudi/no-devices.prom', env: { FAKE_HL_SMI_CAPTURE: GAUDI3, FAKE_HL_SMI_MODE: 'empty' } },
  { golden: 'gaudi/no-tool.prom', env: { FAKE_HL_SMI_CAPTURE: GAUDI3 }, args: ['--hl-smi.path=/nonexistent/hl-smi'] },
];

describe('hl-smi end to end', { concurrency: 4 }, () => {
  goldenScenarios('hl-smi', FAKE, SCENARIOS);

  it('falls back to the base field list when hl-smi rejects power.max, and keeps it', async () => {
    const log = path.join(mkdtempSync(path.join(tmpdir(), 'ae-')), 'runs.log');
    const e = await startExporter(['--collect.interval=200ms', `--hl-smi.path=${FAKE}`], {
      FAKE_HL_SMI_CAPTURE: GAUDI3,
      FAKE_HL_SMI_MODE: 'old',
      FAKE_HL_SMI_LOG: log,
    });
    try {
      const body = await firstSample(e, 'hl-smi');
      assert.match(body, /hw_power_watts\{uuid="01P4-HL3090A0-18-U4V193-22-07-00",[^}]*\} 226/);
      assert.doesNotMatch(body, /accelerator_power_limit_watts\{/);
      await waitFor('a third run', async () => readFileSync(log, 'utf8').split('\n').filter(Boolean).length >= 3);
      const runs = readFileSync(log, 'utf8').split('\n').filter(Boolean);
      assert.match(runs[0]!, /power\.max/);
      for (const r of runs.slice(1)) assert.doesNotMatch(r, /power\.max/);
    } finally {
      await e.stop();
    }
  });
});
