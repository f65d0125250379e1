// End to end: the real exporter process reading the fake libnvidia-ml.so.1
// (test/fake-nvml, compiled against NVIDIA's nvml.h) whose state comes from
// the real nvidia-smi captures, scraped over HTTP, diffed whole against golden
// files and linted with promtool.

import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FAKE_TOOLS, FIXTURES, sampleValue, startExporter } from '../helpers/exporter.ts';
import { buildFakeNvml, captureState, writeFakeNvmlState } from '../helpers/fake-nvml.ts';
import { firstSample, lintMetrics, normalizeRepeated, scrapeUntil } from '../helpers/golden-e2e.ts';
import { assertGolden, normalize } from '../helpers/golden.ts';
import { fakeKubeApi } from '../helpers/fake-kube-api.ts';
import { devices, fakeKubelet, pod } from '../helpers/fake-kubelet.ts';

const CAPTURES = {
  h100: path.join(FIXTURES, 'nvidia/capture_h100-80gb-hbm3_590.48.01_linux.txt'),
  h100mig: path.join(FIXTURES, 'nvidia/capture_h100-80gb-hbm3-mig_590.48.01_linux.txt'),
  rtx2080: path.join(FIXTURES, 'nvidia/capture_rtx-2080-super_610.57.04_linux.txt'),
};
const FAKE_SMI = path.join(FAKE_TOOLS, 'nvidia-smi');

let lib: string;
let dir: string;
let n = 0;

/** A state file for one test: a capture's state plus constructed lines. */
function state(capture: string, extra: string[] = [], opts: { state?: 'idle' | 'load'; gpus?: number } = {}): string {
  const file = path.join(dir, `state-${n++}.txt`);
  writeFakeNvmlState(file, captureState(capture, opts, extra));
  return file;
}

interface Scenario {
  readonly golden: string;
  readonly state: () => string;
  readonly args?: readonly string[];
}

const SCENARIOS: readonly Scenario[] = [
  { golden: 'nvml/h100-load.prom', state: () => state(CAPTURES.h100) },
  { golden: 'nvml/h100-idle.prom', state: () => state(CAPTURES.h100, [], { state: 'idle' }) },
  // What no capture holds, constructed: energy, interconnect byte counters, NVLink errors.
  {
    golden: 'nvml/h100-interconnect.prom',
    state: () =>
      state(CAPTURES.h100, [
        '# constructed: energy since driver load (mJ), PCIe byte counters, NVLink data KiB on links 0 and 1, NVLink error totals',
        'device.0.nvmlDeviceGetTotalEnergyConsumption=987654321',
        'device.0.nvmlDeviceGetFieldValues.197=ull:1099511627776',
        'device.0.nvmlDeviceGetFieldValues.198=ull:549755813888',
        'device.0.nvmlDeviceGetFieldValues.138.0=ull:1000',
        'device.0.nvmlDeviceGetFieldValues.138.1=ull:3000',
        'device.0.nvmlDeviceGetFieldValues.139.0=ull:2000',
        'device.0.nvmlDeviceGetFieldValues.139.1=ull:4000',
        'device.0.nvmlDeviceGetFieldValues.38=ull:1',
        'device.0.nvmlDeviceGetFieldValues.45=ull:2',
        'device.0.nvmlDeviceGetFieldValues.52=ull:3',
        'device.0.nvmlDeviceGetFieldValues.59=ull:0',
        'device.0.nvmlDeviceGetFieldValues.160=ull:0',
      ]),
  },
  { golden: 'nvml/h100-mig-load.prom', state: () => state(CAPTURES.h100mig) },
  { golden: 'nvml/rtx-2080-super-610-load.prom', state: () => state(CAPTURES.rtx2080) },
  // A GPU that fell off the bus before the exporter ever read it: known by its index only.
  { golden: 'nvml/gpu-lost.prom', state: () => state(CAPTURES.h100, ['# constructed: GPU 1 fell off the bus', 'device.1.every_call=!GPU_IS_LOST'], { gpus: 3 }) },
  { golden: 'nvml/driver-not-loaded.prom', state: () => state(CAPTURES.h100, ['# constructed: nvmlInit without a kernel driver', 'nvmlInit=!DRIVER_NOT_LOADED']) },
  { golden: 'nvml/no-library.prom', state: () => state(CAPTURES.h100), args: ['--nvml.library=/nonexistent/libnvidia-ml.so.1'] },
  {
    golden: 'nvml/fail-hang.prom',
    state: () => state(CAPTURES.h100, ['# constructed: a call stuck in the driver', 'hang.nvmlDeviceGetPowerUsage=forever']),
    args: ['--collect.timeout=2s'],
  },
];

describe('nvml end to end', { concurrency: 2 }, () => {
  before(async () => {
    lib = await buildFakeNvml();
    dir = mkdtempSync(path.join(tmpdir(), 'ae-nvml-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const sc of SCENARIOS) {
    it(`serves ${sc.golden}`, async () => {
      const e = await startExporter(['--collect.interval=1h', '--collect.timeout=20s', `--nvml.library=${lib}`, ...(sc.args ?? [])], { FAKE_NVML_STATE: sc.state() });
      try {
        const body = await firstSample(e, 'nvml');
        assertGolden(sc.golden, normalize(body));
        lintMetrics(sc.golden, body);
      } finally {
        await e.stop();
      }
    });
  }

  it('answers scrapes while an NVML call hangs, then reports the timeout and stops calling', async () => {
    const release = path.join(dir, `hang-${n++}`);
    writeFileSync(release, '');
    const file = state(CAPTURES.h100, ['# constructed: a call stuck in the driver until the test releases it', `hang.nvmlDeviceGetPowerUsage=while:${release}`]);
    const e = await startExporter(['--collect.interval=1s', '--collect.timeout=1s', `--nvml.library=${lib}`], { FAKE_NVML_STATE: file });
    try {
      const during = await e.scrape();
      assert.equal(during.status, 200);
      const failed = await scrapeUntil(e, 'the timeouts', (b) => (sampleValue(b, 'accelerator_exporter_backend_failures_total', { backend: 'nvml', reason: 'timeout' }) ?? 0) >= 3);
      assert.equal(sampleValue(failed, 'accelerator_exporter_backend_state', { backend: 'nvml', state: 'failed' }), 1);
      // One call is stuck; later samples fail fast instead of piling more calls into the driver.
      assert.ok(e.logs.some((l) => String(l.err ?? '').includes('has not returned')), 'later samples refuse to call NVML');
      rmSync(release);
      const back = await scrapeUntil(e, 'the recovery', (b) => sampleValue(b, 'accelerator_exporter_backend_state', { backend: 'nvml', state: 'ok' }) === 1);
      assert.equal(sampleValue(back, 'hw_power_watts', { gpu: '0' }), 631.95);
    } finally {
      await e.stop();
    }
  });

  it('counts XID errors injected while running, per device and code', async () => {
    const events = path.join(dir, `events-${n++}`);
    writeFileSync(events, '');
    const file = state(CAPTURES.h100, ['# constructed: both GPUs deliver critical XID events', 'device.0.nvmlDeviceGetSupportedEventTypes=0x8', 'device.1.nvmlDeviceGetSupportedEventTypes=0x8', `events_file=${events}`], { gpus: 2 });
    const e = await startExporter(['--collect.interval=500ms', `--nvml.library=${lib}`], { FAKE_NVML_STATE: file });
    try {
      const first = await firstSample(e, 'nvml');
      assert.equal(sampleValue(first, 'accelerator_xid_errors_total'), undefined, 'no XID yet, no series');
      appendFileSync(events, '0 79\n1 48\n0 79\n');
      const body = await scrapeUntil(e, 'the XIDs', (b) => sampleValue(b, 'accelerator_xid_errors_total', { gpu: '0', xid: '79' }) === 2);
      assert.equal(sampleValue(body, 'accelerator_xid_errors_total', { gpu: '1', xid: '48' }), 1);
      assert.equal(sampleValue(body, 'accelerator_xid_errors_total', { gpu: '0', xid: '48' }), undefined);
      const last = sampleValue(body, 'accelerator_xid_last_timestamp_seconds', { gpu: '0', xid: '79' })!;
      assert.ok(Math.abs(last - Date.now() / 1000) < 60, `last XID time ${last} is now`);
      appendFileSync(events, '0 94\n');
      const more = await scrapeUntil(e, 'the next XID', (b) => sampleValue(b, 'accelerator_xid_errors_total', { gpu: '0', xid: '94' }) === 1);
      assert.equal(sampleValue(more, 'accelerator_xid_errors_total', { gpu: '0', xid: '79' }), 2, 'counters keep counting');
      lintMetrics('xid', more);
    } finally {
      await e.stop();
    }
  });

  it('serves GPM profiling per GPU and per MIG GPU instance where NVML supports it', async () => {
    const gpm = (prefix: string, sm: number) => [
      `${prefix}nvmlGpmMetricsGet.1=${sm + 10}`,
      `${prefix}nvmlGpmMetricsGet.2=${sm}`,
      `${prefix}nvmlGpmMetricsGet.3=${sm / 2}`,
      `${prefix}nvmlGpmMetricsGet.5=25`,
      `${prefix}nvmlGpmMetricsGet.10=40`,
      `${prefix}nvmlGpmMetricsGet.11=1`,
      `${prefix}nvmlGpmMetricsGet.12=30`,
      `${prefix}nvmlGpmMetricsGet.13=5`,
      `${prefix}nvmlGpmMetricsGet.20=100`,
      `${prefix}nvmlGpmMetricsGet.21=200`,
      `${prefix}nvmlGpmMetricsGet.60=300`,
      `${prefix}nvmlGpmMetricsGet.61=400`,
    ];
    const file = state(CAPTURES.h100mig, ['# constructed: GPM on GPU 0 and its first MIG instance; GPU 1 unsupported', 'device.0.nvmlGpmQueryDeviceSupport=1', ...gpm('device.0.', 60), ...gpm('device.0.mig.0.', 20)], { gpus: 2 });
    const e = await startExporter(['--collect.interval=1h', `--nvml.library=${lib}`], { FAKE_NVML_STATE: file });
    try {
      const body = await firstSample(e, 'nvml');
      const gpu0 = { uuid: 'GPU-00000000-0000-0000-0000-000000000000', parent_uuid: '' };
      assert.equal(sampleValue(body, 'accelerator_sm_active_ratio', gpu0), 0.6);
      assert.equal(sampleValue(body, 'accelerator_sm_occupancy_ratio', gpu0), 0.3);
      assert.equal(sampleValue(body, 'accelerator_graphics_engine_active_ratio', gpu0), 0.7000000000000001);
      assert.equal(sampleValue(body, 'accelerator_tensor_active_ratio', gpu0), 0.25);
      assert.equal(sampleValue(body, 'accelerator_dram_active_ratio', gpu0), 0.4);
      assert.equal(sampleValue(body, 'accelerator_pipe_active_ratio', { ...gpu0, pipe: 'fp32' }), 0.3);
      assert.equal(sampleValue(body, 'accelerator_interconnect_throughput_bytes_per_second', { ...gpu0, link: 'pcie', direction: 'transmit' }), 100 * 1048576);
      assert.equal(sampleValue(body, 'accelerator_interconnect_throughput_bytes_per_second', { ...gpu0, link: 'nvlink', direction: 'receive' }), 300 * 1048576);
      const mig = body.split('\n').find((l) => l.startsWith('accelerator_sm_active_ratio{') && l.includes('parent_uuid="GPU-00000000-0000-0000-0000-000000000000"'));
      assert.ok(mig?.endsWith(' 0.2'), `MIG instance SM activity: ${mig}`);
      assert.equal(sampleValue(body, 'accelerator_sm_active_ratio', { uuid: 'GPU-00000000-0000-0000-0000-000000000001' }), undefined, 'GPM unsupported: no series');
      assertGolden('nvml/h100-mig-gpm.prom', normalize(body));
      lintMetrics('gpm', body);
    } finally {
      await e.stop();
    }
  });

  it('never starts a process, and nvidia-smi stays idle while NVML reads the GPUs', async () => {
    const log = path.join(dir, `smi-runs-${n++}.log`);
    const file = state(CAPTURES.h100, [], { gpus: 2 });
    const e = await startExporter(['--collect.interval=300ms', `--nvml.library=${lib}`, `--nvidia-smi.path=${FAKE_SMI}`], {
      FAKE_NVML_STATE: file,
      FAKE_NVIDIA_SMI_CAPTURE: CAPTURES.h100,
      FAKE_NVIDIA_SMI_GPUS: '2',
      FAKE_NVIDIA_SMI_LOG: log,
    });
    try {
      const body = await scrapeUntil(e, 'a few samples', (b) => sampleValue(b, 'accelerator_exporter_backend_state', { backend: 'nvidia-smi', state: 'no_data' }) === 1 && sampleValue(b, 'accelerator_exporter_backend_state', { backend: 'nvml', state: 'ok' }) === 1);
      await new Promise((r) => setTimeout(r, 1000));
      const later = (await e.scrape()).body;
      for (const b of [body, later]) {
        const up = b.split('\n').filter((l) => l.startsWith('accelerator_device_up{'));
        assert.equal(up.length, 2, `one series per GPU:\n${up.join('\n')}`);
        assert.equal(b.split('\n').filter((l) => l.startsWith('hw_power_watts{')).length, 2);
      }
      assert.equal(sampleValue(later, 'accelerator_exporter_tool_starts_total', { backend: 'nvml' }), 0);
      assert.equal(sampleValue(later, 'accelerator_exporter_tool_starts_total', { backend: 'nvidia-smi' }), 0);
      let runs = '';
      try {
        runs = readFileSync(log, 'utf8');
      } catch {
        // never started, so never logged
      }
      assert.equal(runs, '', 'nvidia-smi never ran');
    } finally {
      await e.stop();
    }
  });

  it('falls back to nvidia-smi when the driver is not loaded, with one series per GPU', async () => {
    const file = state(CAPTURES.h100, ['# constructed: nvmlInit without a kernel driver', 'nvmlInit=!DRIVER_NOT_LOADED']);
    const e = await startExporter(['--collect.interval=1h', `--nvml.library=${lib}`, `--nvidia-smi.path=${FAKE_SMI}`], { FAKE_NVML_STATE: file, FAKE_NVIDIA_SMI_CAPTURE: CAPTURES.h100, FAKE_NVIDIA_SMI_GPUS: '2' });
    try {
      const body = await scrapeUntil(e, 'both samples', (b) => sampleValue(b, 'accelerator_exporter_backend_state', { backend: 'nvidia-smi', state: 'ok' }) === 1);
      assert.equal(sampleValue(body, 'accelerator_exporter_backend_state', { backend: 'nvml', state: 'no_data' }), 1);
      assert.equal(body.split('\n').filter((l) => l.startsWith('accelerator_device_up{')).length, 2);
      assertGolden('nvml/fallback-nvidia-smi.prom', normalizeRepeated(body));
    } finally {
      await e.stop();
    }
  });

  it('gives each container on a time-sliced GPU its own share from NVML process utilisation, never the device value', async () => {
    const GPU = 'GPU-00000000-0000-0000-0000-000000000000';
    const apiPod = (ns: string, name: string, uid: string, ctr: string, containerID: string) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { namespace: ns, name, uid },
      spec: { nodeName: 'gpu-node-1', containers: [{ name: ctr, image: 'x' }] },
      status: { phase: 'Running', containerStatuses: [{ name: ctr, containerID, image: 'x', imageID: 'x', ready: true, restartCount: 0 }] },
    });
    const kubelet = fakeKubelet({
      pod_resources: [
        pod('ml', 'trainer-0', [{ name: 'main', devices: [devices('nvidia.com/gpu.shared', `${GPU}::0`)] }]),
        pod('serving', 'infer-0', [{ name: 'server', devices: [devices('nvidia.com/gpu.shared', `${GPU}::1`)] }]),
      ],
    });
    await kubelet.start();
    const api = await fakeKubeApi();
    api.set('pods', [
      apiPod('ml', 'trainer-0', '1f6c2a7e-8d4b-4c1a-9e3f-2b5d7c9a0e11', 'main', 'containerd://3b1f0c5e7a9d2f4b6c8e0a1b3d5f7e9c1a2b4d6f8e0c2a4b6d8f0e1c3a5b7d9f'),
      apiPod('serving', 'infer-0', '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d', 'server', 'cri-o://a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90'),
    ]);
    // The capture's three processes (two in trainer-0, one in infer-0, see the procfs fixture) with constructed shares.
    const file = state(CAPTURES.h100, [
      '# constructed: per-process utilisation samples for the captured processes',
      'device.0.nvmlDeviceGetProcessUtilization.0.pid=11327',
      'device.0.nvmlDeviceGetProcessUtilization.0.smUtil=30',
      'device.0.nvmlDeviceGetProcessUtilization.1.pid=11328',
      'device.0.nvmlDeviceGetProcessUtilization.1.smUtil=10',
      'device.0.nvmlDeviceGetProcessUtilization.2.pid=11345',
      'device.0.nvmlDeviceGetProcessUtilization.2.smUtil=45',
    ]);
    const work = mkdtempSync(path.join(tmpdir(), 'ae-'));
    const e = await startExporter(
      ['--collect.interval=300ms', `--nvml.library=${lib}`, `--kubelet.pod-resources-socket=${kubelet.socket}`, `--path.procfs=${path.join(FIXTURES, 'procfs/two-pods-one-gpu')}`, `--kubeconfig=${api.kubeconfig(work)}`, '--kubernetes.node-name=gpu-node-1'],
      { FAKE_NVML_STATE: file },
    );
    const util = (b: string, p: string) => sampleValue(b, 'accelerator_container_utilization_ratio', { pod: p });
    try {
      const body = await scrapeUntil(e, 'both containers\' shares', (b) => util(b, 'trainer-0') !== undefined && util(b, 'infer-0') !== undefined);
      assert.equal(util(body, 'trainer-0'), 0.4);
      assert.equal(util(body, 'infer-0'), 0.45);
      assert.equal(sampleValue(body, 'hw_gpu_utilization_ratio', { uuid: GPU }), 1, 'the device is busy all the time; no container gets that copied');
      assert.equal(sampleValue(body, 'accelerator_container_memory_usage_bytes', { pod: 'infer-0' }), 16452157440);
      lintMetrics('shared', body);
    } finally {
      await e.stop();
      await kubelet.stop();
      await api.close();
    }
  });
});
