// npm run soak: the real exporter process for SOAK_SECONDS (default 600) at
// --collect.interval=1s against the fake nvidia-smi replaying the H100
// capture, scraped every 100 ms over loopback. Prints resident memory, CPU
// and tool starts at the start, middle and end, and the highest RSS seen; a
// flat RSS from middle to end is the goal (no growth with time or scrapes).
// Bounded: it stops at its deadline whatever the exporter does.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { FAKE_TOOLS, FIXTURES, startExporter, waitFor } from '../test/helpers/exporter.ts';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 600);
const SCRAPE_EVERY_MS = 100;
const CAPTURE = path.join(FIXTURES, 'nvidia/capture_h100-80gb-hbm3_590.48.01_linux.txt');
const CLK_TCK = 100;

interface Point {
  readonly label: string;
  readonly elapsedS: number;
  readonly rssMiB: number;
  readonly cpuS: number;
  readonly toolStarts: number;
  readonly scrapes: number;
  readonly failedScrapes: number;
  /** accelerator_exporter_backend_failures_total, all reasons. */
  readonly backendFailures: number;
  readonly load1: number;
}

function procStat(pid: number): { cpuS: number; rssMiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))!;
  return { cpuS: (Number(fields[11]) + Number(fields[12])) / CLK_TCK, rssMiB: Number(rss[1]) / 1024 };
}

const lines = (file: string) => {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
};

async function main(): Promise<void> {
  if (!(SECONDS >= 10)) throw new Error('SOAK_SECONDS must be at least 10');
  const dir = mkdtempSync(path.join(tmpdir(), 'ae-soak-'));
  const log = path.join(dir, 'runs.log');
  const e = await startExporter([`--nvidia-smi.path=${path.join(FAKE_TOOLS, 'nvidia-smi')}`, '--collect.interval=1s'], {
    FAKE_NVIDIA_SMI_CAPTURE: CAPTURE,
    FAKE_NVIDIA_SMI_LOG: log,
    // The flag npm start and the container image use.
    NODE_OPTIONS: '--max-semi-space-size=1',
  });
  let scrapes = 0;
  let failed = 0;
  let peak = 0;
  let lastBody = '';
  const failures: Record<string, number> = { error: 0, status: 0, 'no device series': 0 };
  const backendFailures = () => {
    let n = 0;
    for (const line of lastBody.split('\n')) if (line.startsWith('accelerator_exporter_backend_failures_total{')) n += Number(line.slice(line.lastIndexOf(' ') + 1));
    return n;
  };
  const points: Point[] = [];
  try {
    await waitFor('first sample', async () => (lastBody = (await e.scrape()).body).includes('hw_gpu_utilization_ratio'));
    const t0 = Date.now();
    const point = (label: string) => {
      const s = procStat(e.proc.pid!);
      const p = { label, elapsedS: Math.round((Date.now() - t0) / 1000), rssMiB: s.rssMiB, cpuS: s.cpuS, toolStarts: lines(log), scrapes, failedScrapes: failed, backendFailures: backendFailures(), load1: loadavg()[0]! };
      points.push(p);
      process.stderr.write(`soak: ${label} at ${p.elapsedS}s: RSS ${p.rssMiB.toFixed(1)} MiB\n`);
    };
    point('start');
    const end = t0 + SECONDS * 1000;
    const middle = t0 + (SECONDS * 1000) / 2;
    let middleDone = false;
    let nextSecond = t0 + 1000;
    while (Date.now() < end) {
      const started = Date.now();
      try {
        const r = await e.scrape();
        if (r.status !== 200) failures.status!++;
        else if (!r.body.includes('hw_gpu_utilization_ratio')) failures['no device series']!++;
        if (r.status === 200) lastBody = r.body;
        if (r.status !== 200 || !r.body.includes('hw_gpu_utilization_ratio')) failed++;
      } catch {
        failures.error!++;
        failed++;
      }
      scrapes++;
      if (e.proc.exitCode !== null) throw new Error(`exporter exited with ${e.proc.exitCode}`);
      if (Date.now() >= nextSecond) {
        peak = Math.max(peak, procStat(e.proc.pid!).rssMiB);
        nextSecond += 1000;
      }
      if (!middleDone && Date.now() >= middle) {
        point('middle');
        middleDone = true;
      }
      await new Promise((r) => setTimeout(r, Math.max(0, SCRAPE_EVERY_MS - (Date.now() - started))));
    }
    point('end');
  } finally {
    await e.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  console.log(`Soak: ${SECONDS}s, --collect.interval=1s, a scrape every ${SCRAPE_EVERY_MS} ms, fake nvidia-smi (H100 capture), node ${process.version}`);
  console.log('');
  console.log('| point | elapsed s | RSS MiB | CPU s (total) | CPU % since previous | tool starts | scrapes | failed scrapes | backend failures | load avg 1m |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  points.forEach((p, i) => {
    const prev = points[i - 1];
    const pct = prev && p.elapsedS > prev.elapsedS ? `${((100 * (p.cpuS - prev.cpuS)) / (p.elapsedS - prev.elapsedS)).toFixed(1)}` : '-';
    console.log(`| ${p.label} | ${p.elapsedS} | ${p.rssMiB.toFixed(1)} | ${p.cpuS.toFixed(2)} | ${pct} | ${p.toolStarts} | ${p.scrapes} | ${p.failedScrapes} | ${p.backendFailures} | ${p.load1.toFixed(1)} |`);
  });
  const mid = points.find((p) => p.label === 'middle');
  const last = points.at(-1)!;
  console.log('');
  console.log(`Failed scrapes by kind: ${Object.entries(failures).map(([k, v]) => `${k} ${v}`).join(', ')}.`);
  const reasons = lastBody.split('\n').filter((l) => l.startsWith('accelerator_exporter_backend_failures_total{') && !l.endsWith(' 0'));
  if (reasons.length > 0) console.log(`Backend failures at the end: ${reasons.join('; ')}`);
  console.log(`Highest RSS sampled each second: ${peak.toFixed(1)} MiB. RSS middle to end: ${mid ? (last.rssMiB - mid.rssMiB >= 0 ? '+' : '') + (last.rssMiB - mid.rssMiB).toFixed(1) : '?'} MiB.`);
}

main().catch((err) => {
  process.stderr.write(`soak: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
