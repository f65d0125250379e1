// End to end: the real exporter against the fake hl-smi replaying real Gaudi
// captures, scraped over HTTP, diffed whole against golden files and linted.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { FAKE_TOOLS, FIXTURES, startExporter, waitFor, type RunningExporter } from '../helpers/exporter.ts';
import { assertGolden, normalize, promtool } from '../helpers/golden.ts';

const FAKE = path.join(FAKE_TOOLS, 'hl-smi');
const GAUDI3 = path.join(FIXTURES, 'gaudi/hl-smi_query-aip_csv_noheader__HL-325L_gaudi3_2rows__1.22.1__all-smi.csv');
const GAUDI1 = path.join(FIXTURES, 'gaudi/hl-smi_query-aip_csv_nounits__HL-205_gaudi1_8x__hl-1.18.0__slurm-monitor.csv');

async function firstSample(e: RunningExporter): Promise<string> {
  return waitFor('the first hl-smi sample', async () => {
    const r = await e.scrape();
    return r.body.includes('accelerator_exporter_backend_state{backend="hl-smi"') && r.body;
  });
}

const SCENARIOS: readonly { golden: string; capture: string; env?: Record<string, string>; args?: readonly string[] }[] = [
  { golden: 'gaudi/hl-325l-gaudi3.prom', capture: GAUDI3 },
  { golden: 'gaudi/hl-205-gaudi1.prom', capture: GAUDI1 },
  { golden: 'gaudi/fail-hang.prom', capture: GAUDI3, env: { FAKE_HL_SMI_MODE: 'hang' }, args: ['--collect.timeout=2s'] },
  { golden: 'gaudi/fail-driver.prom', capture: GAUDI3, env: { FAKE_HL_SMI_MODE: 'fail' } },
  { golden: 'gaudi/fail-garbage.prom', capture: GAUDI3, env: { FAKE_HL_SMI_MODE: 'garbage' } },
  { golden: 'gaudi/no-devices.prom', capture: GAUDI3, env: { FAKE_HL_SMI_MODE: 'empty' } },
  { golden: 'gaudi/no-tool.prom', capture: GAUDI3, args: ['--hl-smi.path=/nonexistent/hl-smi'] },
];

describe('hl-smi end to end', { concurrency: 4 }, () => {
  for (const sc of SCENARIOS) {
    it(`serves ${sc.golden}`, async () => {
      const e = await startExporter(
        ['--no-backend.nvidia-smi', '--collect.interval=1h', '--collect.timeout=20s', `--hl-smi.path=${FAKE}`, ...(sc.args ?? [])],
        { FAKE_HL_SMI_CAPTURE: sc.capture, ...sc.env },
      );
      try {
        const body = await firstSample(e);
        assertGolden(sc.golden, normalize(body));
        const lint = promtool(['check', 'metrics'], body);
        if (lint.available) assert.equal(lint.status, 0, lint.output);
      } finally {
        await e.stop();
      }
    });
  }

  it('falls back to the base field list when hl-smi rejects power.max, and keeps it', async () => {
    const log = path.join(mkdtempSync(path.join(tmpdir(), 'ae-')), 'runs.log');
    const e = await startExporter(['--collect.interval=200ms', `--hl-smi.path=${FAKE}`], {
      FAKE_HL_SMI_CAPTURE: GAUDI3,
      FAKE_HL_SMI_MODE: 'old',
      FAKE_HL_SMI_LOG: log,
    });
    try {
      const body = await firstSample(e);
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
