// End to end: the real exporter against fake tools that misbehave the way an
// adversarial run found (issue 13): children holding stdout, orphans, huge or
// empty output, GPUs cut from the output, values outside their domain, a
// neuron-monitor that stops reporting without exiting, absurd counts.

import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { FAKE_TOOLS, FIXTURES, sampleValue, startExporter, waitFor, type RunningExporter } from '../helpers/exporter.ts';
import { firstSample, goldenScenarios, lintMetrics, scrapeUntil } from '../helpers/golden-e2e.ts';
import { processGone } from '../helpers/processes.ts';

const NVIDIA_SMI = path.join(FAKE_TOOLS, 'nvidia-smi');
const H100 = path.join(FIXTURES, 'nvidia/capture_h100-80gb-hbm3_590.48.01_linux.txt');
const NEURON_MONITOR = path.join(FAKE_TOOLS, 'neuron-monitor');
const NEURON_CAPTURE = path.join(FIXTURES, 'neuron/neuron-monitor_stream_3-reports__trn1.2xlarge__wandb-test_trainium.jsonl');
const ROCM_SMI = path.join(FAKE_TOOLS, 'rocm-smi');

function tempFile(name: string, content?: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'ae-hostile-')), name);
  if (content !== undefined) writeFileSync(file, content);
  return file;
}

function pids(file: string): number[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

const state = (b: string, backend: string, s: string) => sampleValue(b, 'accelerator_exporter_backend_state', { backend, state: s });
const failures = (b: string, backend: string, reason: string) => sampleValue(b, 'accelerator_exporter_backend_failures_total', { backend, reason });

async function withExporter(args: readonly string[], env: Record<string, string>, fn: (e: RunningExporter) => Promise<void>): Promise<void> {
  const e = await startExporter(args, env);
  try {
    await fn(e);
  } finally {
    await e.stop();
  }
}

describe('hostile nvidia-smi', { concurrency: 2 }, () => {
  goldenScenarios('nvidia-smi', NVIDIA_SMI, [
    // 1e303 MHz is +Inf hertz; memory, utilisation and a clock below zero; a ratio of 1.5.
    {
      golden: 'nvidia/values-out-of-domain.prom',
      env: {
        FAKE_NVIDIA_SMI_CAPTURE: H100,
        FAKE_NVIDIA_SMI_MODE: 'values',
        FAKE_NVIDIA_SMI_VALUES: JSON.stringify({ 'clocks.current.sm': '1e303', 'memory.used': '-5', 'utilization.gpu': '150', 'clocks.current.memory': '-1', 'temperature.gpu': '1e400' }),
      },
    },
    { golden: 'nvidia/too-large.prom', env: { FAKE_NVIDIA_SMI_CAPTURE: H100, FAKE_NVIDIA_SMI_MODE: 'huge', FAKE_NVIDIA_SMI_HUGE_MB: '20' } },
  ]);

  it('a child holding stdout open wedges nothing: every sample succeeds and the child dies with its tool', async () => {
    const children = tempFile('children');
    await withExporter(['--collect.interval=300ms', '--collect.timeout=5s', `--nvidia-smi.path=${NVIDIA_SMI}`], {
      FAKE_NVIDIA_SMI_CAPTURE: H100,
      FAKE_NVIDIA_SMI_MODE: 'fork-child',
      FAKE_NVIDIA_SMI_CHILD_PIDS: children,
    }, async (e) => {
      const b = await scrapeUntil(e, 'three samples', (b) => (sampleValue(b, 'accelerator_exporter_tool_starts_total') ?? 0) >= 7);
      assert.equal(state(b, 'nvidia-smi', 'ok'), 1);
      assert.equal(failures(b, 'nvidia-smi', 'timeout'), 0);
      assert.equal(sampleValue(b, 'hw_gpu_utilization_ratio'), 1);
      assert.ok(pids(children).length >= 6, `children: ${pids(children).length}`);
      // Runs are sequential: only the newest child can belong to a run still in flight.
      await waitFor('every forked child gone', async () => pids(children).slice(0, -1).every(processGone));
    });
  });

  it('the deadline kills what the tool started, not only the tool', async () => {
    const children = tempFile('children');
    // The bound leaves a loaded machine time to start the fake before it is killed.
    await withExporter(['--collect.interval=300ms', '--collect.timeout=2s', `--nvidia-smi.path=${NVIDIA_SMI}`], {
      FAKE_NVIDIA_SMI_CAPTURE: H100,
      FAKE_NVIDIA_SMI_MODE: 'fork-hang',
      FAKE_NVIDIA_SMI_CHILD_PIDS: children,
    }, async (e) => {
      await scrapeUntil(e, 'two timeouts of runs that forked', (b) => (failures(b, 'nvidia-smi', 'timeout') ?? 0) >= 2 && pids(children).length >= 2);
      // Runs are sequential: only the newest child can belong to a run still in flight.
      await waitFor('no orphan left', async () => pids(children).slice(0, -1).every(processGone));
    });
  });

  it('a tool that worked and then prints nothing, or only on stderr, is failing, and /readyz says so', async () => {
    const modeFile = tempFile('mode', 'ok');
    await withExporter(['--collect.interval=300ms', `--nvidia-smi.path=${NVIDIA_SMI}`], { FAKE_NVIDIA_SMI_CAPTURE: H100, FAKE_NVIDIA_SMI_MODE_FILE: modeFile }, async (e) => {
      await scrapeUntil(e, 'a good sample', (b) => state(b, 'nvidia-smi', 'ok') === 1);
      assert.equal((await e.get('/readyz')).status, 200);
      writeFileSync(modeFile, 'empty');
      const b = await scrapeUntil(e, 'the failure', (b) => state(b, 'nvidia-smi', 'failed') === 1);
      assert.equal(state(b, 'nvidia-smi', 'no_data'), 0);
      assert.ok(failures(b, 'nvidia-smi', 'empty')! >= 1);
      await waitFor('not ready', async () => (await e.get('/readyz')).status === 503);
      writeFileSync(modeFile, 'stderr-only');
      await waitFor('the stderr logged', async () =>
        e.logs.some((l) => l.msg === 'backend failed' && l.reason === 'empty' && /stderr: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver/.test(String(l.err))),
      );
    });
  });

  it('a GPU cut from the output stays on accelerator_device_up 0 for the grace period, counted and logged once', async () => {
    const modeFile = tempFile('mode', 'ok');
    // A grace period of 5 s: long next to a sample of the fake on a loaded machine, short next to the test's patience.
    await withExporter(['--collect.interval=200ms', '--collect.grace-intervals=25', `--nvidia-smi.path=${NVIDIA_SMI}`], {
      FAKE_NVIDIA_SMI_CAPTURE: H100,
      FAKE_NVIDIA_SMI_GPUS: '2',
      FAKE_NVIDIA_SMI_MODE_FILE: modeFile,
    }, async (e) => {
      await scrapeUntil(e, 'two GPUs', (b) => sampleValue(b, 'accelerator_exporter_backend_devices') === 2);
      writeFileSync(modeFile, 'truncated');
      const b = await scrapeUntil(e, 'one GPU', (b) => sampleValue(b, 'accelerator_exporter_backend_devices') === 1);
      const gone = { uuid: 'GPU-00000000-0000-0000-0000-000000000001', pci_bus_id: '0000:11:09.0', gpu: '1', model: 'NVIDIA H100 80GB HBM3' };
      const shown = () => b.split('\n').filter((l) => /^(accelerator_device_up|accelerator_exporter_devices_vanished_total|accelerator_exporter_backend_state)\{/.test(l)).join('\n');
      assert.equal(sampleValue(b, 'accelerator_device_up', gone), 0, shown());
      assert.equal(sampleValue(b, 'accelerator_device_up', { gpu: '0' }), 1, shown());
      assert.equal(sampleValue(b, 'accelerator_exporter_devices_vanished_total'), 1, shown());
      assert.equal(state(b, 'nvidia-smi', 'ok'), 1, shown());
      // Past the grace period its identity is forgotten.
      const later = await scrapeUntil(e, 'the grace period over', (b) => sampleValue(b, 'accelerator_device_up', { gpu: '1' }) === undefined);
      assert.equal(sampleValue(later, 'accelerator_exporter_devices_vanished_total'), 1);
      assert.equal(e.logs.filter((l) => l.msg === 'device no longer listed by the tool; reported as down for the grace period').length, 1);
    });
  });
});

describe('hostile neuron-monitor', { concurrency: 2 }, () => {
  const base = { FAKE_NEURON_MONITOR_CAPTURE: NEURON_CAPTURE, FAKE_NEURON_MONITOR_PERIOD_MS: '50' };
  // Liveness bound: 2 x 200 ms + 500 ms = 900 ms.
  const fast = ['--collect.interval=200ms', '--collect.timeout=500ms', `--neuron-monitor.path=${NEURON_MONITOR}`];
  const util = (b: string) => sampleValue(b, 'hw_gpu_utilization_ratio');

  goldenScenarios('neuron-monitor', NEURON_MONITOR, [
    { golden: 'neuron/device-count-huge.prom', title: '100000', env: { FAKE_NEURON_MONITOR_MODE: 'device-count', FAKE_NEURON_MONITOR_DEVICE_COUNT: '100000' } },
    { golden: 'neuron/device-count-huge.prom', title: '1e300', env: { FAKE_NEURON_MONITOR_MODE: 'device-count', FAKE_NEURON_MONITOR_DEVICE_COUNT: '1e300' } },
    { golden: 'neuron/line-too-long.prom', env: { FAKE_NEURON_MONITOR_MODE: 'long-line', FAKE_NEURON_MONITOR_LINE_MB: '10' } },
  ], { ...base, FAKE_NEURON_MONITOR_PERIOD_MS: '60000' });

  it('a monitor that goes silent loses its values, fails, and is restarted', async () => {
    await withExporter(fast, { ...base, FAKE_NEURON_MONITOR_MODE: 'silent-after', FAKE_NEURON_MONITOR_REPORTS: '1' }, async (e) => {
      await scrapeUntil(e, 'a good sample', (b) => state(b, 'neuron-monitor', 'ok') === 1 && util(b) !== undefined);
      const b = await scrapeUntil(e, 'the liveness failure', (b) => state(b, 'neuron-monitor', 'failed') === 1 && (sampleValue(b, 'accelerator_exporter_tool_starts_total') ?? 0) >= 2);
      assert.ok(failures(b, 'neuron-monitor', 'timeout')! >= 1);
      assert.ok(e.logs.some((l) => l.msg === 'neuron-monitor alive but not reporting; killing it'));
    });
  });

  it('a monitor writing only to stderr never reads ok, is restarted, and its words are in the failure', async () => {
    await withExporter(fast, { ...base, FAKE_NEURON_MONITOR_MODE: 'stderr-only' }, async (e) => {
      const b = await scrapeUntil(e, 'a restart', (b) => (sampleValue(b, 'accelerator_exporter_tool_starts_total') ?? 0) >= 2);
      assert.equal(state(b, 'neuron-monitor', 'ok'), 0);
      assert.ok(e.logs.some((l) => l.msg === 'backend failed' && /waiting for the Neuron driver/.test(String(l.err))));
    });
  });

  it('junk after a good report drops the values at once and fails as parse', async () => {
    await withExporter(['--collect.interval=100ms', '--collect.timeout=5s', `--neuron-monitor.path=${NEURON_MONITOR}`], {
      ...base,
      FAKE_NEURON_MONITOR_PERIOD_MS: '300',
      FAKE_NEURON_MONITOR_MODE: 'junk-after',
      FAKE_NEURON_MONITOR_REPORTS: '1',
    }, async (e) => {
      await scrapeUntil(e, 'a good sample', (b) => state(b, 'neuron-monitor', 'ok') === 1);
      const b = await scrapeUntil(e, 'the parse failure', (b) => state(b, 'neuron-monitor', 'failed') === 1);
      assert.ok(failures(b, 'neuron-monitor', 'parse')! >= 1);
      assert.ok(e.logs.some((l) => l.msg === 'backend failed' && /internal error, dumping state/.test(String(l.err))));
    });
  });

  it('a monitor that exits while its child holds stdout is restarted, and the child dies', async () => {
    const children = tempFile('children');
    await withExporter(fast, { ...base, FAKE_NEURON_MONITOR_MODE: 'fork-exit', FAKE_NEURON_MONITOR_REPORTS: '2', FAKE_NEURON_MONITOR_CHILD_PIDS: children }, async (e) => {
      await scrapeUntil(e, 'a restart', (b) => (sampleValue(b, 'accelerator_exporter_tool_starts_total') ?? 0) >= 2);
      assert.ok(e.logs.some((l) => l.msg === 'neuron-monitor exited; restarting'));
      const first = pids(children)[0]!;
      await waitFor('the first monitor\'s child gone', async () => processGone(first));
    });
  });

  it('a monitor that hangs after a restart is killed and started again', async () => {
    const modeFile = tempFile('mode', 'exit-after');
    const starts = tempFile('starts');
    await withExporter(fast, { ...base, FAKE_NEURON_MONITOR_MODE_FILE: modeFile, FAKE_NEURON_MONITOR_REPORTS: '20', FAKE_NEURON_MONITOR_LOG: starts }, async (e) => {
      await scrapeUntil(e, 'a good sample', (b) => state(b, 'neuron-monitor', 'ok') === 1);
      writeFileSync(modeFile, 'hang');
      await waitFor('a third start', async () => pids(starts).length >= 3);
      assert.ok(e.logs.some((l) => l.msg === 'neuron-monitor exited; restarting'));
      assert.ok(e.logs.some((l) => l.msg === 'neuron-monitor alive but not reporting; killing it'));
    });
  });

  it('a monitor that cannot be executed is a spawn failure with its own error', async () => {
    const file = tempFile('neuron-monitor');
    copyFileSync(NEURON_MONITOR, file);
    chmodSync(file, 0o644);
    await withExporter(['--collect.interval=1h', `--neuron-monitor.path=${file}`], base, async (e) => {
      const b = await firstSample(e, 'neuron-monitor');
      assert.deepEqual([failures(b, 'neuron-monitor', 'spawn'), failures(b, 'neuron-monitor', 'exit_code')], [1, 0]);
      const warn = e.logs.find((l) => l.msg === 'backend failed');
      assert.match(String(warn?.err), /^neuron-monitor could not be started: spawn .*EACCES/);
      lintMetrics('spawn', b);
    });
  });
});

describe('hostile rocm-smi', () => {
  it('six cards under one Unique ID stay six devices, keyed by bus id, with no duplicate series', async () => {
    await withExporter(['--collect.interval=1h', '--collect.timeout=20s', `--rocm-smi.path=${ROCM_SMI}`], {
      FAKE_ROCM_SMI_OUTPUT: path.join(FIXTURES, 'amd/rocm-smi_json__telegraf__mi100_rocm571.json'),
      FAKE_ROCM_SMI_MODE: 'same-unique-id',
    }, async (e) => {
      const b = await firstSample(e, 'rocm-smi');
      const up = b.split('\n').filter((l) => l.startsWith('accelerator_device_up{'));
      assert.equal(up.length, 6);
      assert.deepEqual(up.map((l) => /uuid="([^"]*)"/.exec(l)![1]), ['0000:1e:00.0', '0000:22:00.0', '0000:3f:00.0', '0000:43:00.0', '0000:46:00.0', '0000:49:00.0']);
      assert.equal(sampleValue(b, 'accelerator_exporter_devices_dropped_total', { backend: 'rocm-smi' }), 0);
      lintMetrics('rocm-smi same unique id', b);
    });
  });
});

describe('unusable --path.procfs', () => {
  for (const [procfs, problem] of [
    ['/nonexistent/proc', /^cannot list \/nonexistent\/proc: ENOENT$/],
    [path.join(FIXTURES, 'nvidia'), /holds no process directories; is it a procfs mount\?$/],
  ] as const) {
    it(`is logged at start: ${procfs}`, async () => {
      await withExporter(['--collect.interval=1h', `--path.procfs=${procfs}`, `--nvidia-smi.path=${NVIDIA_SMI}`], { FAKE_NVIDIA_SMI_CAPTURE: H100 }, async (e) => {
        const warn = await waitFor('the warning', async () => e.logs.find((l) => l.msg === '--path.procfs is unusable; GPU processes cannot be attributed to containers'));
        assert.match(String(warn.problem), problem);
      });
    });
  }

  it('is not logged for a usable one', async () => {
    await withExporter(['--collect.interval=1h', `--path.procfs=${path.join(FIXTURES, 'procfs/gpu-node-a')}`, `--nvidia-smi.path=${NVIDIA_SMI}`], { FAKE_NVIDIA_SMI_CAPTURE: H100 }, async (e) => {
      await firstSample(e, 'nvidia-smi');
      assert.equal(e.logs.filter((l) => String(l.msg).includes('path.procfs')).length, 0);
    });
  });
});
