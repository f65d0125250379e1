// End to end: the real exporter against the fake neuron-monitor streaming the
// real trn1.2xlarge capture, scraped over HTTP, diffed against golden files.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { FAKE_TOOLS, FIXTURES, sampleValue, startExporter, waitFor } from '../helpers/exporter.ts';
import { firstSample, goldenScenarios, type GoldenScenario } from '../helpers/golden-e2e.ts';

const FAKE = path.join(FAKE_TOOLS, 'neuron-monitor');
const CAPTURE = path.join(FIXTURES, 'neuron/neuron-monitor_stream_3-reports__trn1.2xlarge__wandb-test_trainium.jsonl');

const SCENARIOS: readonly GoldenScenario[] = [
  { golden: 'neuron/trn1-2xlarge.prom' },
  { golden: 'neuron/fail-hang.prom', env: { FAKE_NEURON_MONITOR_MODE: 'hang' }, args: ['--collect.timeout=2s'] },
  { golden: 'neuron/fail-exit.prom', env: { FAKE_NEURON_MONITOR_MODE: 'fail' } },
  { golden: 'neuron/fail-garbage.prom', env: { FAKE_NEURON_MONITOR_MODE: 'garbage' } },
  { golden: 'neuron/no-tool.prom', args: ['--neuron-monitor.path=/nonexistent/neuron-monitor'] },
];

describe('neuron-monitor end to end', { concurrency: 3 }, () => {
  goldenScenarios('neuron-monitor', FAKE, SCENARIOS, { FAKE_NEURON_MONITOR_CAPTURE: CAPTURE, FAKE_NEURON_MONITOR_PERIOD_MS: '60000' });

  it('restarts neuron-monitor when it exits and serves its new reports; stops it on shutdown', async () => {
    const log = path.join(mkdtempSync(path.join(tmpdir(), 'ae-')), 'starts.log');
    const e = await startExporter(['--collect.interval=100ms', `--neuron-monitor.path=${FAKE}`], {
      FAKE_NEURON_MONITOR_CAPTURE: CAPTURE,
      FAKE_NEURON_MONITOR_PERIOD_MS: '50',
      FAKE_NEURON_MONITOR_MODE: 'exit-after',
      FAKE_NEURON_MONITOR_REPORTS: '2',
      FAKE_NEURON_MONITOR_LOG: log,
    });
    try {
      await firstSample(e, 'neuron-monitor');
      const restarted = await waitFor('a restart that serves reports again', async () => {
        const b = (await e.scrape()).body;
        return (sampleValue(b, 'accelerator_exporter_tool_starts_total') ?? 0) >= 2 && sampleValue(b, 'accelerator_exporter_backend_state', { state: 'ok' }) === 1 && b;
      });
      assert.ok(sampleValue(restarted, 'accelerator_exporter_backend_failures_total', { reason: 'exit_code' })! >= 1, 'the exit was counted');
      assert.ok(readFileSync(log, 'utf8').split('\n').filter(Boolean).length >= 2);
      assert.ok(e.logs.some((l) => l.msg === 'neuron-monitor exited; restarting' && String(l.stderr).includes('lost connection to the Neuron runtime')));
    } finally {
      assert.equal(await e.stop(), 0);
    }
  });
});
