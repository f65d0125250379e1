// npm run fleet-sim: a simulated fleet on a real Prometheus. For each size N
// the exporter's real /metrics output (bench/fleet-data.ts) is multiplied into
// N eight-GPU nodes, written as OpenMetrics for a span of scrapes, backfilled
// with `promtool tsdb create-blocks-from openmetrics`, served by the real
// Prometheus on loopback with the shipped rules file, the recording rules
// backfilled over the same span (`promtool tsdb create-blocks-from rules`),
// and then every recording rule, alert expression and dashboard query is
// evaluated through the HTTP API at the end of the span. Prints the figures
// and a linear fit extrapolated to 10,000 nodes.
//
//   npm run fleet-sim -- --nodes=100,500,1000 --minutes=60 --interval=30 --repeat=3 --json=out.json

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { ROOT } from '../test/helpers/exporter.ts';
import { PROMETHEUS_BIN, startPrometheus, type RunningPrometheus } from '../test/helpers/prometheus.ts';
import { GPUS_PER_NODE, JOB, loadTemplates, nodePlan, writeOpenMetrics } from './fleet-data.ts';

export const RULES = path.join(ROOT, 'alerts/accelerator.rules.yaml');
export const DCGM_RULES = path.join(ROOT, 'alerts/dcgm-compat.rules.yaml');
const PROMTOOL = process.env.PROMTOOL_BIN ?? 'promtool';

export interface SimOptions {
  readonly nodes: readonly number[];
  /** Span of backfilled data, minutes. */
  readonly minutes: number;
  /** Scrape (and rule evaluation) interval, seconds. */
  readonly intervalS: number;
  /** Evaluations of each query; p50 and max are over these. */
  readonly repeat: number;
  readonly log?: (line: string) => void;
  /** Another checkout (e.g. /work/main) whose rules and dashboards are evaluated on the same data, for a before/after. */
  readonly compare?: string;
}

/** What is evaluated: a rules file and a directory of generated dashboard JSON. */
interface Setup {
  readonly label: string;
  readonly rules: readonly string[];
  readonly dashboards: string;
}

export interface Timing {
  readonly p50: number;
  readonly max: number;
}

export interface QueryFigure extends Timing {
  readonly setup: string;
  readonly id: string;
  readonly expr: string;
  readonly range: boolean;
  /** Series in the answer. */
  readonly resultSeries: number;
  readonly wallP50: number;
  /** Samples Prometheus loaded to answer (its own query statistics). */
  readonly samples: number;
  readonly error?: string;
}

export interface GroupFigure extends Timing {
  readonly setup: string;
  readonly group: string;
  readonly rules: number;
  readonly intervalS: number;
  readonly slowest: string;
  readonly errors: readonly string[];
  /** Prometheus CPU time per evaluation of the whole group, ms (mean over the repeats). */
  readonly cpuMs: number;
}

export interface SizeFigure {
  readonly nodes: number;
  readonly gpus: number;
  readonly activeSeries: number;
  readonly samplesPerInterval: number;
  readonly openMetricsBytes: number;
  readonly backfillS: number;
  readonly ruleBackfillS: number;
  readonly tsdbBytes: number;
  readonly groups: readonly GroupFigure[];
  readonly dashboards: readonly QueryFigure[];
  /** Prometheus CPU time for one load of each dashboard (all its queries), ms, by setup and file. */
  readonly dashboardCpuMs: Readonly<Record<string, number>>;
  /** What the simulated fleet holds, read back through Prometheus at the end of the data. */
  readonly fleet: { readonly lostGpus: number; readonly failingBackends: number; readonly allocatedIdleGpus: number; readonly dcgmGpuTempSeries: number };
}

/** The same, from the plan the data was made from. */
export function plannedFleet(nodes: number): SizeFigure['fleet'] {
  let lostGpus = 0;
  let failingBackends = 0;
  let allocatedIdleGpus = 0;
  let dcgmGpuTempSeries = 0;
  for (let k = 0; k < nodes; k++) {
    const p = nodePlan(k);
    if (p.failing) {
      failingBackends++;
      continue;
    }
    lostGpus += p.gpus.filter((g) => g.state === 'lost').length;
    allocatedIdleGpus += p.gpus.filter((g) => g.state === 'idle' && g.holder).length;
    // One per answering GPU: each has at most one holding pod here.
    dcgmGpuTempSeries += p.gpus.filter((g) => g.state !== 'lost').length;
  }
  return { lostGpus, failingBackends, allocatedIdleGpus, dcgmGpuTempSeries };
}

function run(cmd: string, args: readonly string[]): { seconds: number; output: string } {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}:\n${r.stderr}${r.stdout}`);
  return { seconds: (performance.now() - t0) / 1000, output: r.stdout + r.stderr };
}

/**
 * CPU time the Prometheus process has used, ms (utime + stime of
 * /proc/<pid>/stat, in clock ticks of 10 ms). On a shared machine the wall
 * time of a query includes waiting for a core; its CPU time does not.
 */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

function duSize(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir)) {
    const p = path.join(dir, e);
    const st = statSync(p);
    n += st.isDirectory() ? duSize(p) : st.size;
  }
  return n;
}

function timing(ms: number[]): Timing {
  const s = [...ms].sort((a, b) => a - b);
  return { p50: s[Math.floor((s.length - 1) / 2)]!, max: s[s.length - 1]! };
}

interface ApiAnswer {
  resultType: string;
  result: unknown[] | unknown;
  stats?: { timings?: { evalTotalTime?: number }; samples?: { totalQueryableSamples?: number } };
}

/**
 * One query through the HTTP API. `ms` is Prometheus' own evaluation time
 * (its query statistics, evalTotalTime): what a rule evaluation costs, without
 * the HTTP and JSON around it; `wallMs` is what a dashboard waits.
 */
async function timedQuery(p: RunningPrometheus, expr: string, at: number, range?: { start: number; end: number; step: number }): Promise<{ ms: number; wallMs: number; series: number; samples: number }> {
  const params = new URLSearchParams({ query: expr, stats: 'all' });
  if (range) {
    params.set('start', String(range.start));
    params.set('end', String(range.end));
    params.set('step', String(range.step));
  } else params.set('time', String(at));
  const t0 = performance.now();
  const r = await fetch(`${p.url}/api/v1/${range ? 'query_range' : 'query'}`, { method: 'POST', body: params });
  const body = (await r.json()) as { status: string; data: ApiAnswer; error?: string };
  const wallMs = performance.now() - t0;
  if (body.status !== 'success') throw new Error(body.error ?? `HTTP ${r.status}`);
  const series = Array.isArray(body.data.result) ? body.data.result.length : 1;
  const engine = body.data.stats?.timings?.evalTotalTime;
  return { ms: engine === undefined ? wallMs : engine * 1000, wallMs, series, samples: body.data.stats?.samples?.totalQueryableSamples ?? 0 };
}

/** Grafana's values with everything selected (allValue .*), one node for the per-node dashboard. */
export function substitute(expr: string, dashboard: string, rangeS: number, intervalS: number): string {
  const vars: Record<string, string> = {
    $__rate_interval: `${4 * intervalS}s`,
    $__range_s: String(rangeS),
    $__range: `${rangeS}s`,
    $node: dashboard === 'node.json' ? nodePlan(0).node : '.*',
    $vendor: '.*',
    $model: '.*',
    $namespace: '.*',
    $job: JOB,
  };
  let out = expr;
  for (const name of Object.keys(vars).sort((a, b) => b.length - a.length)) out = out.split(name).join(vars[name]!);
  if (/\$/.test(out)) throw new Error(`unsubstituted variable in ${out}`);
  return out;
}

interface PanelJson {
  title?: string;
  panels?: PanelJson[];
  targets?: { expr?: string; instant?: boolean }[];
}

/** Every query of the generated dashboard JSON in `dir`, as Grafana would send it. */
export function dashboardQueries(dir: string): { file: string; id: string; expr: string; instant: boolean }[] {
  const out: { file: string; id: string; expr: string; instant: boolean }[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const d = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as { title?: string; panels?: PanelJson[] };
    if (!d.panels) continue;
    const walk = (ps: PanelJson[]) => {
      for (const p of ps) {
        walk(p.panels ?? []);
        (p.targets ?? []).forEach((t, i) => {
          if (t.expr) out.push({ file, id: `${file.replace('.json', '')} / ${p.title}${i > 0 ? ` #${i + 1}` : ''}`, expr: t.expr, instant: !!t.instant });
        });
      }
    };
    walk(d.panels);
  }
  return out;
}

interface RuleGroup {
  name: string;
  interval?: string;
  rules: { record?: string; alert?: string; expr: string }[];
}

export function ruleGroups(file = RULES): RuleGroup[] {
  return (parse(readFileSync(file, 'utf8')) as { groups: RuleGroup[] }).groups;
}

/**
 * The recording rules of `files` in passes: pass k holds the rules that read
 * a series recorded in pass k-1 (promtool's rules backfill does not chain
 * rules). Each pass is written as rule files under `dir`.
 */
export function rulePasses(files: readonly string[], dir: string): string[][] {
  const groups = files.flatMap((f) => ruleGroups(f));
  const records = new Set(groups.flatMap((g) => g.rules.map((r) => r.record).filter((r): r is string => !!r)));
  const depth = new Map<string, number>();
  const depthOf = (expr: string): number => {
    let d = 0;
    for (const name of records) if (new RegExp(`(^|[^a-zA-Z0-9_:])${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^a-zA-Z0-9_:])`).test(expr)) d = Math.max(d, (depth.get(name) ?? 0) + 1);
    return d;
  };
  // Rules are listed before their readers in our files, so one sweep settles every depth.
  for (const g of groups) for (const r of g.rules) if (r.record) depth.set(r.record, depthOf(r.expr));
  const max = Math.max(0, ...depth.values());
  mkdirSync(dir, { recursive: true });
  const passes: string[][] = [];
  for (let k = 0; k <= max; k++) {
    const pass = groups.map((g) => ({ name: g.name, rules: g.rules.filter((r) => r.record && depth.get(r.record) === k) })).filter((g) => g.rules.length > 0);
    const file = path.join(dir, `pass-${k}.rules.yaml`);
    writeFileSync(file, JSON.stringify({ groups: pass }, null, 2));
    passes.push([file]);
  }
  return passes;
}

function prometheusYaml(intervalS: number): string {
  return JSON.stringify({ global: { scrape_interval: `${intervalS}s`, evaluation_interval: `${intervalS}s` }, rule_files: [RULES, DCGM_RULES] }, null, 2);
}

function setups(opts: SimOptions): Setup[] {
  const own: Setup = { label: 'this', rules: [RULES, DCGM_RULES], dashboards: path.join(ROOT, 'dashboards') };
  if (!opts.compare) return [own];
  return [own, { label: path.basename(opts.compare), rules: [path.join(opts.compare, 'alerts/accelerator.rules.yaml')], dashboards: path.join(opts.compare, 'dashboards') }];
}

export async function simulateSize(nodes: number, opts: SimOptions): Promise<SizeFigure> {
  const log = opts.log ?? (() => {});
  const dir = mkdtempSync(path.join(tmpdir(), `fleet-sim-${nodes}-`));
  const data = path.join(dir, 'data');
  const steps = Math.floor((opts.minutes * 60) / opts.intervalS) + 1;
  // Whole intervals, ending a little in the past so the blocks never reach into the head's range.
  const endS = Math.floor(Date.now() / 1000 / opts.intervalS) * opts.intervalS - opts.intervalS;
  const startS = endS - (steps - 1) * opts.intervalS;
  let prom: RunningPrometheus | undefined;
  try {
    const om = path.join(dir, 'fleet.om');
    const written = await writeOpenMetrics(om, loadTemplates(), nodes, steps, opts.intervalS, endS);
    log(`  ${nodes} nodes: ${written.series} series, ${(written.bytes / 1e9).toFixed(2)} GB of OpenMetrics`);
    mkdirSync(data);
    const backfill = run(PROMTOOL, ['tsdb', 'create-blocks-from', 'openmetrics', '-q', om, data]);
    rmSync(om);
    log(`  backfilled in ${backfill.seconds.toFixed(1)} s`);

    const config = prometheusYaml(opts.intervalS);
    const start = () => startPrometheus(config, { dataDir: data, readyTimeoutMs: 600_000 });
    prom = await start();
    // Recording rules over the same span, so dashboards reading them find a history. The
    // backfill evaluates each rule against what Prometheus holds, so a rule reading another
    // rule's series goes in a later pass, after the blocks of the one before are loaded.
    let ruleBackfillS = 0;
    for (const [i, files] of rulePasses([RULES, DCGM_RULES], path.join(dir, 'passes')).entries()) {
      const recorded = path.join(dir, `recorded-${i}`);
      const rb = run(PROMTOOL, [
        'tsdb',
        'create-blocks-from',
        'rules',
        `--start=${startS}`,
        `--end=${endS + 1}`,
        `--eval-interval=${opts.intervalS}s`,
        `--url=${prom.url}`,
        `--output-dir=${recorded}`,
        ...files,
      ]);
      ruleBackfillS += rb.seconds;
      await prom.stop();
      prom = undefined;
      for (const b of readdirSync(recorded)) if (/^[0-9A-Z]{26}$/.test(b)) renameSync(path.join(recorded, b), path.join(data, b));
      prom = await start();
    }
    log(`  recording rules backfilled in ${ruleBackfillS.toFixed(1)} s`);

    const scalar = async (expr: string) => {
      const r = (await (await fetch(`${prom!.url}/api/v1/query?time=${endS}&query=${encodeURIComponent(expr)}`)).json()) as { data: { result: { value: [number, string] }[] } };
      return Number(r.data.result[0]?.value[1] ?? 0);
    };
    // Scraped series only, not those the rules write (level:metric:operation names, alert states,
    // the alerts' own series that the rules backfill writes under their names, and
    // the dcgm-exporter compatibility names, which keep the job label).
    const activeSeries = await scalar(`count({job="${JOB}", __name__!~".*:.*|DCGM_.*|ALERTS.*|Accelerator[A-Z].*"})`);
    const fleet = {
      lostGpus: await scalar('count(accelerator_device_up == 0)'),
      failingBackends: await scalar('count(accelerator_exporter_backend_state{state="failed"} == 1)'),
      // From the backfilled recording rule, so the rules backfill is checked too.
      allocatedIdleGpus: await scalar('sum(node_vendor_model:accelerator_allocated_idle_devices:count)'),
      // Three rules deep (GPU labels, holders, field): the chained rules backfill reached it.
      dcgmGpuTempSeries: await scalar('count(DCGM_FI_DEV_GPU_TEMP)'),
    };

    const groups: GroupFigure[] = [];
    const dashboards: QueryFigure[] = [];
    const dashboardCpuMs: Record<string, number> = {};
    const rangeS = opts.minutes * 60;
    for (const setup of setups(opts)) {
      for (const file of setup.rules) {
        for (const g of ruleGroups(file)) {
          const totals: number[] = [];
          const perRule = new Map<string, number>();
          const errors: string[] = [];
          const cpu0 = cpuMs(prom.proc.pid);
          for (let i = 0; i < opts.repeat; i++) {
            let total = 0;
            for (const r of g.rules) {
              const name = r.record ?? r.alert!;
              try {
                const q = await timedQuery(prom, r.expr, endS);
                total += q.ms;
                perRule.set(name, Math.max(perRule.get(name) ?? 0, q.ms));
              } catch (err) {
                if (i === 0) errors.push(`${name}: ${(err as Error).message}`);
              }
            }
            totals.push(total);
          }
          const groupCpu = (cpuMs(prom.proc.pid) - cpu0) / opts.repeat;
          const slowest = [...perRule].sort((x, y) => y[1] - x[1])[0];
          groups.push({
            setup: setup.label,
            group: g.name,
            rules: g.rules.length,
            intervalS: g.interval ? Number(/^(\d+)[sm]$/.exec(g.interval)?.[1] ?? opts.intervalS) * (g.interval.endsWith('m') ? 60 : 1) : opts.intervalS,
            ...timing(totals),
            slowest: slowest ? `${slowest[0]} ${slowest[1].toFixed(1)} ms` : '',
            errors,
            cpuMs: groupCpu,
          });
        }
      }
      const cpuBefore = new Map<string, number>();
      let lastFile = '';
      const closeFile = () => {
        if (lastFile) dashboardCpuMs[`${setup.label} ${lastFile}`] = (cpuMs(prom!.proc.pid) - cpuBefore.get(lastFile)!) / opts.repeat;
      };
      for (const q of dashboardQueries(setup.dashboards)) {
        if (q.file !== lastFile) {
          closeFile();
          lastFile = q.file;
          cpuBefore.set(q.file, cpuMs(prom.proc.pid));
        }
        const expr = substitute(q.expr, q.file, rangeS, opts.intervalS);
        const range = q.instant ? undefined : { start: startS, end: endS, step: opts.intervalS };
        const times: number[] = [];
        const walls: number[] = [];
        let last = { series: 0, samples: 0 };
        let error: string | undefined;
        for (let i = 0; i < opts.repeat; i++) {
          try {
            const r = await timedQuery(prom, expr, endS, range);
            times.push(r.ms);
            walls.push(r.wallMs);
            last = r;
          } catch (err) {
            error = (err as Error).message;
            break;
          }
        }
        dashboards.push({
          setup: setup.label,
          id: q.id,
          expr,
          range: !!range,
          resultSeries: last.series,
          samples: last.samples,
          ...(times.length ? timing(times) : { p50: NaN, max: NaN }),
          wallP50: walls.length ? timing(walls).p50 : NaN,
          ...(error ? { error } : {}),
        });
      }
      closeFile();
    }
    return {
      nodes,
      gpus: nodes * GPUS_PER_NODE,
      activeSeries,
      samplesPerInterval: activeSeries,
      openMetricsBytes: written.bytes,
      backfillS: backfill.seconds,
      ruleBackfillS,
      tsdbBytes: duSize(data),
      groups,
      dashboards,
      dashboardCpuMs,
      fleet,
    };
  } finally {
    await prom?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Least-squares line through (x, y); a single point is taken as proportional. */
export function fit(xs: readonly number[], ys: readonly number[]): (x: number) => number {
  if (xs.length === 1) return (x) => (ys[0]! * x) / xs[0]!;
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
  }
  const b = sxy / sxx;
  return (x) => my + b * (x - mx);
}

const ms = (v: number) => (Number.isNaN(v) ? 'error' : v < 10 ? v.toFixed(1) : v.toFixed(0));

export function report(figures: readonly SizeFigure[], opts: SimOptions, extrapolate = 10_000): string {
  const xs = figures.map((f) => f.nodes);
  const out: string[] = [];
  const head = (cols: string[]) => {
    out.push(`| ${cols.join(' | ')} |`);
    out.push(`| ${cols.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`);
  };
  out.push(`Simulated fleet: ${GPUS_PER_NODE} GPUs per node, ${opts.minutes} min of data at ${opts.intervalS} s, ${opts.repeat} evaluations per query; times in ms (p50 / max), fit linear in N.`);
  out.push('');
  head(['Nodes', ...figures.map((f) => String(f.nodes)), `${extrapolate} (fit)`]);
  const row = (label: string, ys: number[], fmt: (v: number) => string) => {
    out.push(`| ${label} | ${ys.map(fmt).join(' | ')} | ${fmt(Math.max(0, fit(xs, ys)(extrapolate)))} |`);
  };
  row('GPUs', figures.map((f) => f.gpus), String);
  row('Active series', figures.map((f) => f.activeSeries), (v) => String(Math.round(v)));
  row(`Samples per ${opts.intervalS} s scrape interval`, figures.map((f) => f.samplesPerInterval), (v) => String(Math.round(v)));
  row('Samples per second', figures.map((f) => f.samplesPerInterval / opts.intervalS), (v) => String(Math.round(v)));
  row('TSDB blocks, MB', figures.map((f) => f.tsdbBytes / 1e6), (v) => v.toFixed(1));
  row('Backfill, s', figures.map((f) => f.backfillS), (v) => v.toFixed(1));
  out.push('');
  const multi = new Set(figures[0]!.groups.map((g) => g.setup)).size > 1;
  const tag = (setup: string) => (multi ? ` [${setup}]` : '');
  out.push("Rule groups: Prometheus' own evaluation time (query statistics) of the group's rules one after another, as a rule group runs; p50 / max ms:");
  out.push('');
  head(['Group (rules, interval)', ...figures.map((f) => `${f.nodes}`), `${extrapolate} (fit, p50)`, 'share of interval at fit', 'CPU ms per evaluation', 'slowest rule at largest N']);
  for (const g of figures[0]!.groups) {
    const per = figures.map((f) => f.groups.find((x) => x.group === g.group && x.setup === g.setup)!);
    const at = Math.max(0, fit(xs, per.map((x) => x.p50))(extrapolate));
    out.push(
      `| ${g.group}${tag(g.setup)} (${g.rules}, ${g.intervalS} s) | ${per.map((x) => `${ms(x.p50)} / ${ms(x.max)}${x.errors.length ? ` (${x.errors.length} errors)` : ''}`).join(' | ')} | ${ms(at)} | ${((at / (g.intervalS * 1000)) * 100).toFixed(1)}% | ${per.map((x) => ms(x.cpuMs ?? NaN)).join(' / ')} | ${per[per.length - 1]!.slowest} |`,
    );
  }
  out.push('');
  out.push(
    `Dashboard queries: instant at the end of the data, or range over all of it at a ${opts.intervalS} s step; every node selected, one node on the node dashboard. Engine p50 / max ms; samples = Prometheus' totalQueryableSamples at the largest N; wall = HTTP round trip p50 at the largest N.`,
  );
  out.push('');
  head(['Query', 'kind', ...figures.map((f) => `${f.nodes}`), `${extrapolate} (fit, p50)`, 'samples', 'series out', 'wall']);
  for (const q of figures[0]!.dashboards) {
    const per = figures.map((f) => f.dashboards.find((x) => x.id === q.id && x.setup === q.setup)!);
    const last = per[per.length - 1]!;
    const p50s = per.map((x) => x.p50);
    out.push(
      `| ${q.id}${tag(q.setup)} | ${q.range ? 'range' : 'instant'} | ${per.map((x) => (x.error ? 'error' : `${ms(x.p50)} / ${ms(x.max)}`)).join(' | ')} | ${p50s.some(Number.isNaN) ? 'error' : ms(Math.max(0, fit(xs, p50s)(extrapolate)))} | ${last.samples} | ${last.resultSeries} | ${ms(last.wallP50)} |`,
    );
  }
  if (figures.every((f) => f.dashboardCpuMs)) {
    out.push('', 'Prometheus CPU ms for one load of each dashboard (every query once), by size:', '');
    const keys = Object.keys(figures[figures.length - 1]!.dashboardCpuMs);
    head(['Dashboard', ...figures.map((f) => `${f.nodes}`)]);
    for (const k of keys) out.push(`| ${k} | ${figures.map((f) => ms(f.dashboardCpuMs[k] ?? NaN)).join(' | ')} |`);
  }
  if (multi) {
    out.push('', 'Per dashboard, sum of its queries\' engine p50 at the largest N (what one load of the dashboard costs Prometheus):', '');
    head(['Dashboard', ...new Set(figures[0]!.dashboards.map((d) => d.setup))]);
    const lastFig = figures[figures.length - 1]!;
    const files = [...new Set(lastFig.dashboards.map((d) => d.id.split(' / ')[0]!))];
    for (const file of files) {
      const cells = [...new Set(lastFig.dashboards.map((d) => d.setup))].map((setup) =>
        ms(lastFig.dashboards.filter((d) => d.setup === setup && d.id.startsWith(`${file} / `)).reduce((a, d) => a + (Number.isNaN(d.p50) ? 0 : d.p50), 0)),
      );
      out.push(`| ${file} | ${cells.join(' | ')} |`);
    }
  }
  const errors = figures.flatMap((f) => [
    ...f.groups.flatMap((g) => g.errors.map((e) => `N=${f.nodes} [${g.setup}] rule ${e}`)),
    ...f.dashboards.filter((d) => d.error).map((d) => `N=${f.nodes} [${d.setup}] ${d.id}: ${d.error}`),
  ]);
  if (errors.length) out.push('', 'Errors:', ...errors.map((e) => `- ${e}`));
  return out.join('\n') + '\n';
}

function arg(name: string, fallback: string): string {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : (process.env[`FLEET_${name.toUpperCase()}`] ?? fallback);
}

async function main(): Promise<void> {
  for (const bin of [PROMTOOL, PROMETHEUS_BIN]) {
    const r = spawnSync(bin, ['--version']);
    if (r.error || r.status !== 0) throw new Error(`${bin} is not installed (apt-get install prometheus)`);
  }
  const opts: SimOptions = {
    nodes: arg('nodes', '100,500,1000').split(',').map(Number),
    minutes: Number(arg('minutes', '60')),
    intervalS: Number(arg('interval', '30')),
    repeat: Number(arg('repeat', '3')),
    ...(arg('compare', '') ? { compare: arg('compare', '') } : {}),
    log: (l) => process.stderr.write(l + '\n'),
  };
  const json = arg('json', '');
  // --report=a.json,b.json prints the table of earlier runs (sizes run one at a time) without simulating.
  const earlier = arg('report', '');
  if (earlier) {
    const runs = earlier.split(',').map((f) => JSON.parse(readFileSync(f, 'utf8')) as { opts: SimOptions; figures: SizeFigure[] });
    const figures = runs.flatMap((r) => r.figures).sort((a, b) => a.nodes - b.nodes);
    process.stdout.write(report(figures, { ...runs[0]!.opts, nodes: figures.map((f) => f.nodes) }));
    return;
  }
  const figures: SizeFigure[] = [];
  for (const n of opts.nodes) {
    process.stderr.write(`fleet of ${n} nodes\n`);
    figures.push(await simulateSize(n, opts));
    // After each size, so a long run that is stopped keeps what it measured.
    if (json) writeFileSync(json, JSON.stringify({ opts: { ...opts, log: undefined }, figures }, null, 2));
  }
  process.stdout.write(report(figures, opts));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    process.stderr.write(`fleet-sim: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
