// npm run bench: measures the exporter as a user runs it (the real process
// against the fake nvidia-smi replaying the H100 capture, repeated to 8 and
// 64 GPUs) and prints a table. Ratios measured in one run are what to
// compare: these machines are shared and noisy.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Gauge, Registry } from '@prometheus-io/client';
import { BIN, FAKE_TOOLS, FIXTURES, ROOT, startExporter, waitFor } from '../test/helpers/exporter.ts';
import { snapshotFamilies } from '../src/metrics/catalog.ts';
import { collect } from '../src/metrics/exposition.ts';
import { renderFamilies } from '../src/metrics/serialize.ts';
import type { Snapshot } from '../src/collect/snapshot.ts';
import { answerQuery, readCapture } from '../test/fake-tools/lib/capture.mjs';
import { parseGpuRows, parseHelpQuery, planQuery } from '../src/backends/nvidia/nvidia-smi-fields.ts';
import { benchAttribution } from './attribution.ts';
import { benchNvml, printNvml } from './nvml.ts';

const SCRAPES = Number(process.env.BENCH_SCRAPES ?? 1000);
const STEADY_S = Number(process.env.BENCH_STEADY_SECONDS ?? 30);
const CAPTURE = path.join(FIXTURES, 'nvidia/capture_h100-80gb-hbm3_590.48.01_linux.txt');
const FAKE = path.join(FAKE_TOOLS, 'nvidia-smi');
const CLK_TCK = 100;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function latencies(url: string, n: number): Promise<number[]> {
  for (let i = 0; i < 50; i++) await (await fetch(url)).text();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await (await fetch(url)).text();
    out.push(performance.now() - t0);
  }
  return out.sort((a, b) => a - b);
}

function procStat(pid: number): { cpuSeconds: number; rssMiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))!;
  return { cpuSeconds, rssMiB: Number(rss[1]) / 1024 };
}

async function startStatic(bodyFile: string): Promise<{ url: string; proc: ChildProcess }> {
  const proc = spawn(process.execPath, [path.join(ROOT, 'bench/static-server.ts'), bodyFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => proc.stdout!.once('data', (d) => resolve(JSON.parse(String(d)).address.port)));
  return { url: `http://127.0.0.1:${port}/metrics`, proc };
}

const countLines = (file: string) => {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
};

interface Row {
  gpus: number;
  bytes: number;
  p50: number;
  p99: number;
  staticP50: number;
  staticP99: number;
  startsDuringScrapes: number;
  rssMiB: number;
  cpuPerMin: number;
  startsPerMin: number;
}

async function measure(gpus: number): Promise<Row> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ae-bench-'));
  const log = path.join(dir, 'runs.log');
  // The flag npm start and the container image use (see docs/architecture.md, Memory).
  const env = { FAKE_NVIDIA_SMI_CAPTURE: CAPTURE, FAKE_NVIDIA_SMI_GPUS: String(gpus), FAKE_NVIDIA_SMI_LOG: log, NODE_OPTIONS: '--max-semi-space-size=1' };

  // Scrape latency with the default configuration.
  const e = await startExporter([`--nvidia-smi.path=${FAKE}`], env);
  try {
    await waitFor('first sample', async () => (await e.scrape()).body.includes('hw_gpu_utilization_ratio'));
    const body = (await e.scrape()).body;
    const bodyFile = path.join(dir, 'body.prom');
    writeFileSync(bodyFile, body);
    const before = countLines(log);
    const t0 = Date.now();
    const ours = await latencies(`${e.url}/metrics`, SCRAPES);
    const burstMin = (Date.now() - t0) / 60_000;
    // Background samples continue during the burst; subtract what the interval explains.
    const expectedBackground = Math.ceil((burstMin * 60) / 10) * 2 + 2;
    const startsDuringScrapes = Math.max(0, countLines(log) - before - expectedBackground);
    const st = await startStatic(bodyFile);
    const base = await latencies(st.url, SCRAPES);
    st.proc.kill();

    // Steady state: a Prometheus-like scrape every 15 s, CPU and tool starts over the window.
    const s0 = procStat(e.proc.pid!);
    const l0 = countLines(log);
    const end = Date.now() + STEADY_S * 1000;
    while (Date.now() < end) {
      await e.scrape();
      await new Promise((r) => setTimeout(r, Math.min(15_000, Math.max(0, end - Date.now()))));
    }
    const s1 = procStat(e.proc.pid!);
    const minutes = STEADY_S / 60;
    return {
      gpus,
      bytes: Buffer.byteLength(body),
      p50: percentile(ours, 50),
      p99: percentile(ours, 99),
      staticP50: percentile(base, 50),
      staticP99: percentile(base, 99),
      startsDuringScrapes,
      rssMiB: s1.rssMiB,
      cpuPerMin: (s1.cpuSeconds - s0.cpuSeconds) / minutes,
      startsPerMin: (countLines(log) - l0) / minutes,
    };
  } finally {
    await e.stop();
  }
}

/** Why /metrics is pre-rendered: the same families through prom-client's collect() on every scrape. */
function renderCost(gpus: number): { preRenderMs: number; joinMs: number; promClientMs: number } {
  const sections = readCapture(CAPTURE);
  const plan = planQuery(parseHelpQuery(sections.get('capabilities :: help-query-gpu')!));
  const text = answerQuery(sections, 'load', 'query-gpu', [...plan.fields], ['csv', 'noheader', 'nounits'], { gpus }).text;
  const devices = parseGpuRows(text, plan).devices;
  const snapshot: Snapshot = { takenAtMs: 0, devices, processes: [], processListed: new Set(), health: devices.map((d) => ({ id: d.id, up: 1 })), backends: [] };
  const families = snapshotFamilies({ version: 'bench', nodeVersion: process.version });
  const reps = 200;
  let t0 = performance.now();
  let rendered = '';
  for (let i = 0; i < reps; i++) rendered = renderFamilies(collect(families, snapshot, 0), 'prometheus');
  const preRenderMs = (performance.now() - t0) / reps;
  t0 = performance.now();
  let joined = '';
  for (let i = 0; i < reps; i++) joined = rendered + 'process_cpu_seconds_total 1\n';
  const joinMs = (performance.now() - t0) / reps;
  void joined;

  const registry = new Registry();
  for (const f of families) {
    new Gauge({
      name: f.name,
      help: f.help,
      labelNames: [...f.labelNames],
      registers: [registry],
      collect() {
        this.reset();
        for (const s of f.samples(snapshot, 0)) this.set(Object.fromEntries(f.labelNames.map((n, i) => [n, s.labels[i]!])), s.value);
      },
    });
  }
  return { preRenderMs, joinMs, promClientMs: NaN, registry } as never;
}

async function promClientMs(gpus: number): Promise<number> {
  const r = renderCost(gpus) as unknown as { registry: Registry };
  const reps = 50;
  await r.registry.metrics();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await r.registry.metrics();
  return (performance.now() - t0) / reps;
}

const fmt = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');

const rows: Row[] = [];
for (const gpus of [8, 64]) rows.push(await measure(gpus));

console.log('\nExporter process against the fake nvidia-smi (H100 capture repeated; default --collect.interval=10s)\n');
console.log('| GPUs | /metrics bytes | scrape p50 ms | scrape p99 ms | static p50 ms | static p99 ms | p99 ratio (target <= 2) | tool starts during scrapes | RSS MiB (target < 80 at 8) | CPU s/min | tool starts/min |');
console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  console.log(`| ${r.gpus} | ${r.bytes} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.staticP50)} | ${fmt(r.staticP99)} | ${fmt(r.p99 / r.staticP99)} | ${r.startsDuringScrapes} | ${fmt(r.rssMiB, 1)} | ${fmt(r.cpuPerMin, 3)} | ${fmt(r.startsPerMin, 1)} |`);
}

console.log('\nRendering cost per scrape, in process (why /metrics is rendered once per snapshot)\n');
console.log('| GPUs | render once per snapshot ms | per scrape: join ms | per scrape with prom-client collect() ms |');
console.log('| ---: | ---: | ---: | ---: |');
for (const gpus of [8, 64]) {
  const c = renderCost(gpus);
  console.log(`| ${gpus} | ${fmt(c.preRenderMs, 3)} | ${fmt(c.joinMs, 4)} | ${fmt(await promClientMs(gpus), 3)} |`);
}
console.log(`\n${SCRAPES} sequential scrapes per server after 50 warm-up; steady window ${STEADY_S}s with a scrape every 15s. BENCH_SCRAPES and BENCH_STEADY_SECONDS change them.`);

console.log('\nAttribution refresh cost, in process (runs per snapshot or kubelet change, never per scrape)\n');
console.log('| step | cost |');
console.log('| --- | ---: |');
for (const r of await benchAttribution()) console.log(`| ${r.name} | ${fmt(r.value, 3)} ${r.unit} |`);
process.exit(0);

printNvml(await benchNvml());
