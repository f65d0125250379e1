// The same capture through both NVIDIA backends: the fake nvidia-smi replays
// it as text, the fake libnvidia-ml serves it through NVML. Every family the
// nvidia-smi backend exports must come out of the nvml backend with the same
// series and the same values, for the physical GPUs (NVML adds the MIG
// devices as partitions beside them, which nvidia-smi --query-gpu cannot list).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEVICE_FAMILIES, DEVICE_UP_FAMILY } from '../../src/metrics/device-families.ts';
import { FAKE_TOOLS, FIXTURES, startExporter } from '../helpers/exporter.ts';
import { buildFakeNvml, captureState, writeFakeNvmlState } from '../helpers/fake-nvml.ts';
import { firstSample } from '../helpers/golden-e2e.ts';

const SHARED = new Set([...DEVICE_FAMILIES.map((f) => f.name), DEVICE_UP_FAMILY.name]);

/** Series of the shared families on physical devices, `name{labels}` -> value text. */
function deviceSeries(body: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const name = line.slice(0, line.search(/[{ ]/));
    if (!SHARED.has(name) || !line.includes('parent_uuid=""')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), line.slice(at + 1));
  }
  return out;
}

const CASES = [
  { title: 'H100 under load', capture: 'capture_h100-80gb-hbm3_590.48.01_linux.txt', state: 'load' as const },
  { title: 'H100 idle', capture: 'capture_h100-80gb-hbm3_590.48.01_linux.txt', state: 'idle' as const },
  { title: 'H100 in MIG mode', capture: 'capture_h100-80gb-hbm3-mig_590.48.01_linux.txt', state: 'load' as const },
  { title: 'RTX 2080 SUPER on driver 610', capture: 'capture_rtx-2080-super_610.57.04_linux.txt', state: 'load' as const },
];

describe('nvml and nvidia-smi agree on the same device state', { concurrency: 1 }, () => {
  let lib: string;
  let dir: string;
  before(async () => {
    lib = await buildFakeNvml();
    dir = mkdtempSync(path.join(tmpdir(), 'ae-parity-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const c of CASES) {
    it(c.title, async () => {
      const capture = path.join(FIXTURES, 'nvidia', c.capture);
      const stateFile = path.join(dir, `${c.title.replace(/\W+/g, '-')}.txt`);
      writeFakeNvmlState(stateFile, captureState(capture, { state: c.state }));
      const smiEnv = { FAKE_NVIDIA_SMI_CAPTURE: capture, ...(c.state === 'idle' ? { FAKE_NVIDIA_SMI_STATE: 'idle' } : {}) };
      const smi = await startExporter(['--collect.interval=1h', '--collect.timeout=20s', `--nvidia-smi.path=${path.join(FAKE_TOOLS, 'nvidia-smi')}`], smiEnv);
      const nvml = await startExporter(['--collect.interval=1h', '--collect.timeout=20s', `--nvml.library=${lib}`], { FAKE_NVML_STATE: stateFile }).catch(async (err: unknown) => {
        await smi.stop();
        throw err;
      });
      try {
        const [a, b] = await Promise.all([firstSample(smi, 'nvidia-smi'), firstSample(nvml, 'nvml')]);
        const fromSmi = deviceSeries(a);
        const fromNvml = deviceSeries(b);
        assert.ok(fromSmi.size > 20, `the nvidia-smi side has device series (${fromSmi.size})`);
        const differ: string[] = [];
        for (const [k, v] of fromSmi) if (fromNvml.get(k) !== v) differ.push(`${k}: nvidia-smi ${v}, nvml ${fromNvml.get(k) ?? 'absent'}`);
        for (const [k, v] of fromNvml) if (!fromSmi.has(k)) differ.push(`${k}: nvidia-smi absent, nvml ${v}`);
        assert.deepEqual(differ, []);
      } finally {
        await Promise.all([smi.stop(), nvml.stop()]);
      }
    });
  }
});
