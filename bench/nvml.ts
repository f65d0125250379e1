// The NVML backend against nvidia-smi, as `npm run bench` runs them: the real
// exporter reading the fake libnvidia-ml (state from the H100 capture) or the
// fake nvidia-smi (same capture), repeated to 8 and 64 GPUs. Measures the
// exporter's CPU per sample cycle (its own, and with the tool processes it
// waited for), vendor-tool process starts per minute in steady state with both
// backends enabled (NVML serving: target 0), and RSS with NVML loaded.

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FAKE_TOOLS, FIXTURES, sampleValue, startExporter, waitFor } from '../test/helpers/exporter.ts';
import { buildFakeNvml, captureState, writeFakeNvmlState } from '../test/helpers/fake-nvml.ts';

const CAPTURE = path.join(FIXTURES, 'nvidia/capture_h100-80gb-hbm3_590.48.01_linux.txt');
const FAKE_SMI = path.join(FAKE_TOOLS, 'nvidia-smi');
const CLK_TCK = 100;
const INTERVAL_S = 2;
const WINDOW_S = Number(process.env.BENCH_NVML_WINDOW_SECONDS ?? 20);

export interface NvmlRow {
  readonly gpus: number;
  readonly source: 'nvml' | 'nvidia-smi';
  /** Exporter process CPU per sample cycle, ms. */
  readonly cpuMsPerCycle: number;
  /** Including the tool processes it started and waited for. */
  readonly cpuWithChildrenMsPerCycle: number;
  readonly toolStartsPerMin: number;
  readonly rssMiB: number;
  readonly sampleSeconds: number;
}

function cpu(pid: number): { own: number; children: number; rssMiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))!;
  return { own: (Number(f[11]) + Number(f[12])) / CLK_TCK, children: (Number(f[13]) + Number(f[14])) / CLK_TCK, rssMiB: Number(rss[1]) / 1024 };
}

const readLog = (file: string): string[] => {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
};

const lines = (file: string) => {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
};

async function measure(gpus: number, source: 'nvml' | 'nvidia-smi', lib: string, dir: string): Promise<NvmlRow> {
  const state = path.join(dir, `state-${gpus}.txt`);
  writeFakeNvmlState(state, captureState(CAPTURE, { gpus }));
  const smiLog = path.join(dir, `smi-${source}-${gpus}.log`);
  // Both backends enabled for the NVML run: nvidia-smi must stay idle.
  const args = [`--collect.interval=${INTERVAL_S}s`, '--collect.timeout=60s', `--nvidia-smi.path=${FAKE_SMI}`, ...(source === 'nvml' ? [`--nvml.library=${lib}`] : [])];
  const e = await startExporter(args, { FAKE_NVML_STATE: state, FAKE_NVIDIA_SMI_CAPTURE: CAPTURE, FAKE_NVIDIA_SMI_GPUS: String(gpus), FAKE_NVIDIA_SMI_LOG: smiLog, ACCELERATOR_EXPORTER_ATTRIBUTION: 'false' });
  try {
    const body = await waitFor('first sample', async () => {
      const b = (await e.scrape()).body;
      return sampleValue(b, 'accelerator_exporter_backend_state', { backend: source, state: 'ok' }) === 1 && b;
    }, 120_000);
    // Warm-up: a few cycles so that lazy loading and JIT are behind us.
    await new Promise((r) => setTimeout(r, 3 * INTERVAL_S * 1000));
    const a = cpu(e.proc.pid!);
    const startsBefore = lines(smiLog);
    await new Promise((r) => setTimeout(r, WINDOW_S * 1000));
    const b = cpu(e.proc.pid!);
    const starts = lines(smiLog) - startsBefore;
    // nvidia-smi: its --query-gpu runs are the cycles (a slow tool stretches the cadence); NVML samples in far less than the interval.
    const smiCycles = readLog(smiLog).slice(startsBefore).filter((l) => l.startsWith('--query-gpu')).length;
    const cycles = source === 'nvidia-smi' ? Math.max(1, smiCycles) : WINDOW_S / INTERVAL_S;
    const last = (await e.scrape()).body;
    return {
      gpus,
      source,
      cpuMsPerCycle: ((b.own - a.own) / cycles) * 1000,
      cpuWithChildrenMsPerCycle: ((b.own - a.own + b.children - a.children) / cycles) * 1000,
      toolStartsPerMin: (starts / WINDOW_S) * 60,
      rssMiB: b.rssMiB,
      sampleSeconds: sampleValue(last, 'accelerator_exporter_backend_last_sample_duration_seconds', { backend: source }) ?? sampleValue(body, 'accelerator_exporter_backend_last_sample_duration_seconds', { backend: source }) ?? NaN,
    };
  } finally {
    await e.stop();
  }
}

export async function benchNvml(): Promise<NvmlRow[]> {
  const lib = await buildFakeNvml();
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-nvml-'));
  const rows: NvmlRow[] = [];
  for (const gpus of [8, 64]) {
    for (const source of ['nvml', 'nvidia-smi'] as const) {
      rows.push(await measure(gpus, source, lib, dir));
      process.stderr.write(`measured ${source} at ${gpus} GPUs\n`);
    }
  }
  return rows;
}

export function printNvml(rows: readonly NvmlRow[]): void {
  const fmt = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
  console.log(`\nNVIDIA through NVML (fake libnvidia-ml) against nvidia-smi (fake tool), same H100 capture; --collect.interval=${INTERVAL_S}s, ${WINDOW_S}s window, no scrapes in it; nvidia-smi enabled in both runs\n`);
  console.log('| GPUs | source | exporter CPU ms/cycle | with tool processes ms/cycle | last sample s | tool starts/min | RSS MiB |');
  console.log('| ---: | --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) console.log(`| ${r.gpus} | ${r.source} | ${fmt(r.cpuMsPerCycle, 1)} | ${fmt(r.cpuWithChildrenMsPerCycle, 1)} | ${fmt(r.sampleSeconds, 3)} | ${fmt(r.toolStartsPerMin, 1)} | ${fmt(r.rssMiB, 1)} |`);
}

if (import.meta.main) printNvml(await benchNvml());
