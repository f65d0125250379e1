// A simulated fleet made of the exporter's real /metrics output: the golden
// pages of the H100 capture (busy, idle, a GPU fallen off the bus, a failing
// backend) and of the attribution scenarios are cut into per-device and
// per-node series templates, then multiplied into N eight-GPU nodes with
// distinct node names, GPU UUIDs and PCI addresses, pods holding GPUs, and
// the target labels Prometheus adds (job, instance, node). Written as
// OpenMetrics with timestamps for `promtool tsdb create-blocks-from openmetrics`.

import { once } from 'node:events';
import { createWriteStream, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../test/helpers/exporter.ts';

const GOLDEN = path.join(ROOT, 'test/golden');
export const JOB = 'accelerator-exporter';
export const GPUS_PER_NODE = 8;
/** PCI buses of the eight GPUs of an HGX H100 board. */
const PCI_BUSES = ['18', '2a', '3a', '5d', '9a', 'ab', 'ba', 'db'];

interface Template {
  readonly name: string;
  readonly labels: readonly (readonly [string, string])[];
  readonly value: string;
}

function parsePage(file: string): Template[] {
  const out: Template[] = [];
  for (const line of readFileSync(path.join(GOLDEN, file), 'utf8').split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`${file}: unparseable line ${line}`);
    const labels = [...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!] as const);
    out.push({ name: m[1]!, labels, value: m[3]! });
  }
  return out;
}

const isDevice = (t: Template) => t.labels.some(([k, v]) => (k === 'uuid' || k === 'pci_bus_id') && v !== '');

export interface FleetTemplates {
  readonly busyGpu: Template[];
  readonly idleGpu: Template[];
  readonly lostGpu: Template[];
  readonly healthyNode: Template[];
  readonly failingNode: Template[];
  /** Series of one container holding one GPU alone: allocation, memory, utilisation. */
  readonly holder: Template[];
}

export function loadTemplates(): FleetTemplates {
  const load = parsePage('nvidia/h100-load.prom');
  const idle = parsePage('nvidia/h100-idle.prom');
  const lost = parsePage('nvidia/gpu-lost.prom').filter((t) => t.name === 'accelerator_device_up' && t.value === '0');
  const failing = parsePage('nvidia/fail-driver.prom');
  const attributed = parsePage('attribution/dra-sole-holder.prom');
  const holder = attributed.filter((t) => t.name === 'accelerator_allocation_info' || t.name.startsWith('accelerator_container_'));
  if (lost.length !== 1 || holder.length < 2) throw new Error('the goldens no longer hold the lost GPU or the attributed container this simulation copies');
  // The fleet runs with attribution on: its self metrics (kubelet and API reachable, ...) come
  // from the attributed page, every other node-level series from the page of the scenario.
  const attributionSelf = attributed.filter((t) => !isDevice(t) && t.name.startsWith('accelerator_exporter_') && t.name.match(/kube|attribut|unresolved/));
  const node = (page: Template[]) => [...page.filter((t) => !isDevice(t) && !attributionSelf.some((a) => a.name === t.name)), ...attributionSelf];
  return {
    busyGpu: load.filter(isDevice),
    idleGpu: idle.filter(isDevice),
    lostGpu: lost,
    healthyNode: node(load),
    failingNode: node(failing),
    holder,
  };
}

export type GpuState = 'busy' | 'idle' | 'lost';

export interface GpuPlan {
  readonly index: number;
  readonly state: GpuState;
  /** namespace/pod holding it, if allocated. */
  readonly holder?: { readonly namespace: string; readonly pod: string };
}

export interface NodePlan {
  readonly node: string;
  readonly instance: string;
  readonly failing: boolean;
  readonly gpus: readonly GpuPlan[];
}

/**
 * Node k of n. Six in ten nodes train (eight busy GPUs, one pod), three in ten
 * serve (four busy GPUs in four pods, two allocated but idle, two free), one in
 * ten is idle and free. Node 3 and every 97th after it has lost GPU 7; node 5
 * and every 113th after it has a backend failing (no device series at all).
 */
export function nodePlan(k: number): NodePlan {
  const node = `gpu-node-${String(k).padStart(5, '0')}`;
  const instance = `10.${(k >> 8) & 255}.${k & 255}.1:9477`;
  const failing = k % 113 === 5;
  const kind = k % 10;
  const ns = `team-${String(k % 25).padStart(2, '0')}`;
  const gpus: GpuPlan[] = [];
  for (let j = 0; j < GPUS_PER_NODE; j++) {
    if (k % 97 === 3 && j === 7) {
      gpus.push({ index: j, state: 'lost' });
    } else if (kind < 6) {
      gpus.push({ index: j, state: 'busy', holder: { namespace: ns, pod: `train-${k}-0` } });
    } else if (kind < 9) {
      if (j < 4) gpus.push({ index: j, state: 'busy', holder: { namespace: 'serve', pod: `infer-${k}-${j}` } });
      else if (j < 6) gpus.push({ index: j, state: 'idle', holder: { namespace: 'notebooks', pod: `jupyter-${k}-${j}` } });
      else gpus.push({ index: j, state: 'idle' });
    } else {
      gpus.push({ index: j, state: 'idle' });
    }
  }
  return { node, instance, failing, gpus };
}

const SCRAPE_SERIES: readonly (readonly [string, string])[] = [
  ['up', '1'],
  ['scrape_duration_seconds', '0.004'],
  ['scrape_samples_scraped', '400'],
  ['scrape_samples_post_metric_relabeling', '400'],
  ['scrape_series_added', '0'],
];

function uuidOf(k: number, j: number): string {
  const h = (k * GPUS_PER_NODE + j).toString(16).padStart(12, '0');
  return `GPU-5e1f${h.slice(0, 4)}-0000-4000-8000-${h}`;
}

/** One series of the fleet: its labels rendered, and how its value moves. */
export interface Series {
  readonly name: string;
  readonly labels: string;
  value(step: number, tSeconds: number): string;
}

function render(labels: readonly (readonly [string, string])[]): string {
  // The goldens mask the Node.js version; any real one does here.
  return labels.map(([k, v]) => `${k}="${v === '<node>' ? 'v24.21.0' : v}"`).join(',');
}

/** Values the golden marks volatile, and the few that move in a real fleet. */
function mover(name: string, value: string, busy: boolean, seed: number): (step: number, t: number) => string {
  const wobble = (step: number, amplitude: number) => ((Math.sin(step / 7 + seed) + 1) / 2) * amplitude;
  switch (name) {
    case 'hw_gpu_utilization_ratio':
      return busy ? (step) => (0.7 + wobble(step, 0.3)).toFixed(2) : () => value;
    case 'hw_power_watts':
      return busy ? (step) => (450 + wobble(step, 250)).toFixed(2) : () => value;
    case 'accelerator_container_utilization_ratio':
      return (step) => (0.7 + wobble(step, 0.3)).toFixed(2);
    case 'accelerator_exporter_tool_starts_total':
      return (step) => String(Number(value) + 6 * step);
    case 'accelerator_exporter_backend_last_success_timestamp_seconds':
    case 'accelerator_exporter_attribution_last_refresh_timestamp_seconds':
      return (_step, t) => String(t - 3);
    case 'accelerator_exporter_backend_last_sample_age_seconds':
    case 'accelerator_exporter_attribution_last_refresh_age_seconds':
      return () => '3';
    case 'accelerator_exporter_backend_last_sample_duration_seconds':
      return () => '0.21';
    case 'process_cpu_seconds_total':
      return (step) => (10 + 0.05 * step).toFixed(2);
    case 'process_resident_memory_bytes':
      return () => '92000000';
    case 'process_start_time_seconds':
      return (_step, t) => String(t - 86400);
    default:
      if (value === '<volatile>') throw new Error(`no simulated value for volatile ${name}`);
      return () => value;
  }
}

/** Every series of one node, with the target labels a scrape adds. */
export function nodeSeries(t: FleetTemplates, k: number): Series[] {
  const plan = nodePlan(k);
  const target: [string, string][] = [
    ['instance', plan.instance],
    ['job', JOB],
    ['node', plan.node],
  ];
  const out: Series[] = [];
  const add = (tpl: Template, labels: (readonly [string, string])[], busy: boolean, seed: number) =>
    out.push({ name: tpl.name, labels: render([...labels, ...target]), value: mover(tpl.name, tpl.value, busy, seed) });
  for (const tpl of plan.failing ? t.failingNode : t.healthyNode) {
    // The page is of one GPU; a node reports its eight.
    const devices = tpl.name === 'accelerator_exporter_backend_devices' && !plan.failing ? { ...tpl, value: String(plan.gpus.length) } : tpl;
    add(devices, [...tpl.labels], false, 0);
  }
  // What Prometheus itself records for every target it scrapes.
  for (const [name, value] of SCRAPE_SERIES) out.push({ name, labels: render(target), value: () => value });
  if (plan.failing) return out;
  for (const gpu of plan.gpus) {
    const uuid = uuidOf(k, gpu.index);
    const pci = `0000:${PCI_BUSES[gpu.index]}:00.0`;
    const tpls = gpu.state === 'busy' ? t.busyGpu : gpu.state === 'idle' ? t.idleGpu : t.lostGpu;
    for (const tpl of tpls) {
      const labels = tpl.labels.map(([name, v]) =>
        [name, name === 'uuid' && v !== '' ? uuid : name === 'pci_bus_id' ? pci : name === 'gpu' && v !== '' ? String(gpu.index) : v] as const,
      );
      add(tpl, labels, gpu.state === 'busy', k + gpu.index);
    }
    if (!gpu.holder) continue;
    for (const tpl of t.holder) {
      // An idle holder runs no process: it has an allocation but no memory or utilisation series.
      if (gpu.state !== 'busy' && tpl.name !== 'accelerator_allocation_info') continue;
      const labels = tpl.labels.map(([name, v]) =>
        [name, name === 'uuid' ? uuid : name === 'namespace' || (name === 'claim_namespace' && v !== '') ? gpu.holder!.namespace : name === 'pod' ? gpu.holder!.pod : v] as const,
      );
      add(tpl, labels, true, k + gpu.index);
    }
  }
  return out;
}

export interface WriteResult {
  readonly series: number;
  readonly samples: number;
  readonly bytes: number;
}

/**
 * Writes `steps` scrapes of every series, `intervalS` apart and ending at
 * `endS`, as OpenMetrics: all samples of a metric name together, each
 * series' samples in time order, as the backfill wants them.
 */
export async function writeOpenMetrics(file: string, templates: FleetTemplates, nodes: number, steps: number, intervalS: number, endS: number): Promise<WriteResult> {
  const byName = new Map<string, Series[]>();
  for (let k = 0; k < nodes; k++) {
    for (const s of nodeSeries(templates, k)) {
      let list = byName.get(s.name);
      if (!list) byName.set(s.name, (list = []));
      list.push(s);
    }
  }
  const out = createWriteStream(file);
  let chunk = '';
  let bytes = 0;
  let series = 0;
  const startS = endS - (steps - 1) * intervalS;
  for (const [name, list] of byName) {
    for (const s of list) {
      series++;
      const head = `${name}{${s.labels}} `;
      for (let i = 0; i < steps; i++) {
        const t = startS + i * intervalS;
        chunk += `${head}${s.value(i, t)} ${t}\n`;
      }
      if (chunk.length > 1 << 20) {
        bytes += chunk.length;
        if (!out.write(chunk)) await once(out, 'drain');
        chunk = '';
      }
    }
  }
  chunk += '# EOF\n';
  bytes += chunk.length;
  out.end(chunk);
  await once(out, 'finish');
  return { series, samples: series * steps, bytes };
}
