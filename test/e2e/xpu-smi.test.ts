// End to end: the real exporter against the fake xpu-smi replaying real
// captures, scraped over HTTP, diffed whole against golden files and linted.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { FAKE_TOOLS, FIXTURES, startExporter, waitFor } from '../helpers/exporter.ts';
import { firstSample, goldenScenarios, type GoldenScenario } from '../helpers/golden-e2e.ts';

const FAKE = path.join(FAKE_TOOLS, 'xpu-smi');
const F = (f: string) => path.join(FIXTURES, 'intel', f);
const MAX = {
  FAKE_XPU_SMI_DISCOVERY: F('xpu-smi_discovery_j__DataCenterGPUMax1100_2x__slurm-monitor.json'),
  FAKE_XPU_SMI_DETAIL: F('xpu-smi_discovery_d0_j__DataCenterGPUMax1100__slurm-monitor.json'),
  FAKE_XPU_SMI_DUMP: F('xpu-smi_dump_csv__DataCenterGPUMax1100_2x__slurm-monitor.csv'),
};
// Constructed (SOURCES.md): a 2-tile Max 1550 and its `stats -j`; no capture of either exists.
const MAX1550 = {
  FAKE_XPU_SMI_DISCOVERY: F('xpu-smi_discovery_j__DataCenterGPUMax1550__constructed.json'),
  FAKE_XPU_SMI_DETAIL: F('xpu-smi_discovery_d0_j__DataCenterGPUMax1550__constructed.json'),
  FAKE_XPU_SMI_DUMP: F('xpu-smi_dump_csv__DataCenterGPUMax1550__constructed.csv'),
  FAKE_XPU_SMI_STATS: F('xpu-smi_stats_d0_j__DataCenterGPUMax1550__constructed.json'),
};
const DOC = {
  FAKE_XPU_SMI_DISCOVERY: F('xpu-smi_discovery_j__Intel-Graphics-0x020a__xpumanager-smi_user_guide.json'),
  FAKE_XPU_SMI_DUMP: F('xpu-smi_dump_m0-1-2_csv__device0__xpumanager-smi_user_guide.csv'),
};

const SCENARIOS: readonly GoldenScenario[] = [
  { golden: 'intel/max-1100-2x.prom', env: MAX },
  { golden: 'intel/user-guide-0x020a.prom', env: DOC },
  { golden: 'intel/max-1550-tiles.prom', env: MAX1550 },
  { golden: 'intel/max-1550-stats-fail.prom', env: { ...MAX1550, FAKE_XPU_SMI_MODE: 'stats-fail' } },
  { golden: 'intel/fail-hang.prom', env: { ...MAX, FAKE_XPU_SMI_MODE: 'hang' }, args: ['--collect.timeout=2s'] },
  { golden: 'intel/fail-driver.prom', env: { ...MAX, FAKE_XPU_SMI_MODE: 'fail' } },
  { golden: 'intel/fail-garbage.prom', env: { ...MAX, FAKE_XPU_SMI_MODE: 'garbage' } },
  { golden: 'intel/no-devices.prom', env: { ...MAX, FAKE_XPU_SMI_MODE: 'no-devices' } },
  { golden: 'intel/no-tool.prom', env: MAX, args: ['--xpu-smi.path=/nonexistent/xpu-smi'] },
];

describe('xpu-smi end to end', { concurrency: 4 }, () => {
  goldenScenarios('xpu-smi', FAKE, SCENARIOS);

  it('discovers once, then runs one dump per sample', async () => {
    const log = path.join(mkdtempSync(path.join(tmpdir(), 'ae-')), 'runs.log');
    const e = await startExporter(['--collect.interval=200ms', `--xpu-smi.path=${FAKE}`], { ...MAX, FAKE_XPU_SMI_LOG: log });
    try {
      await firstSample(e, 'xpu-smi');
      await waitFor('a second dump', async () => readFileSync(log, 'utf8').split('\n').filter((l) => l.startsWith('dump')).length >= 2);
      const runs = readFileSync(log, 'utf8').split('\n').filter(Boolean);
      assert.deepEqual(runs.slice(0, 4), ['discovery -j', 'discovery -d 0 -j', 'discovery -d 1 -j', 'dump -d 0,1 -m 0,1,2,3,4,17,18,29,30 -n 1']);
      assert.ok(runs.slice(3).every((r) => r.startsWith('dump')), runs.join('\n'));
    } finally {
      await e.stop();
    }
  });

  it('adds one stats run per sample for a device with more than one tile', async () => {
    const log = path.join(mkdtempSync(path.join(tmpdir(), 'ae-')), 'runs.log');
    const e = await startExporter(['--collect.interval=200ms', `--xpu-smi.path=${FAKE}`], { ...MAX1550, FAKE_XPU_SMI_LOG: log });
    try {
      await firstSample(e, 'xpu-smi');
      await waitFor('three samples', async () => readFileSync(log, 'utf8').split('\n').filter((l) => l.startsWith('stats')).length >= 3);
      const runs = readFileSync(log, 'utf8').split('\n').filter(Boolean);
      assert.deepEqual(runs.slice(0, 4), ['discovery -j', 'discovery -d 0 -j', 'dump -d 0 -m 0,1,2,3,4,17,18,29,30 -n 1', 'stats -d 0 -j']);
      // Two tool starts per sample: the dump and the tiled device's stats, alternating.
      const [dump, stats] = [runs[2]!, runs[3]!];
      assert.deepEqual(runs.slice(2, 8), [dump, stats, dump, stats, dump, stats], runs.join('\n'));
    } finally {
      await e.stop();
    }
  });
});
