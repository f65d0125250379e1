// The CNCF Kubernetes AI Conformance test for `accelerator_metrics` (KAR-0059),
// applied to the exporter's real output: the whole-/metrics goldens of the
// end-to-end tests, one per vendor capture. docs/conformance.md gives the
// command line this predicts.
//
// The rules are re-implemented here, not copied, from
// kubernetes-sigs/ai-conformance @78f94cc6, test/accelerator_metrics_test.go
// (TestAcceleratorPerformanceMetrics): the body of GET /metrics through the API
// server's service proxy, lines that are not comments parsed into name, labels
// and value; a label counts only with a non-empty value; a sample whose value
// does not parse as a float or is NaN is skipped; a metric is per-accelerator
// when it carries one of the device label keys; the utilisation metric is found
// by the substring "util" of the lower-cased name, the memory metric by
// fb_used|mem_used|memory_used|vram_used|hbm_used, unless -metrics-utilization-metric /
// -metrics-memory-metric name it exactly; temperature, power and interconnect
// are SHOULD checks that only log.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers/exporter.ts';

const DEVICE_LABEL_KEYS = ['gpu', 'UUID', 'uuid', 'device_id', 'dev_id', 'card_id', 'GPU_I_ID', 'minor_number', 'pci_bus_id'];
const UTILIZATION = ['util'];
const MEMORY = ['fb_used', 'mem_used', 'memory_used', 'vram_used', 'hbm_used'];
const SHOULD = {
  temperature: ['temp', 'temperature'],
  power: ['power', 'watt', 'energy'],
  interconnect: ['nvlink', 'pcie_tx', 'pcie_rx', 'bandwidth', 'xgmi'],
};
/** What docs/conformance.md tells a platform team to pass: the exporter's memory metric by name. */
const MEMORY_FLAG = 'hw_gpu_memory_usage_bytes';

interface Sample {
  readonly name: string;
  readonly labels: ReadonlyMap<string, string>;
  readonly value: number;
}

/** Go's strconv.ParseFloat for the spellings an exposition uses; undefined where Go returns an error. */
function parseFloatGo(s: string): number | undefined {
  if (/^[+-]?(inf|infinity)$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(s)) return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return undefined;
  return Number(s);
}

/** Splits `a="x",b="y,z"` on the commas outside quotes, keeping escapes. */
function splitLabelPairs(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  let escaped = false;
  for (const ch of s) {
    if (escaped) {
      cur += ch;
      escaped = false;
    } else if (ch === '\\' && quoted) {
      cur += ch;
      escaped = true;
    } else if (ch === '"') {
      quoted = !quoted;
      cur += ch;
    } else if (ch === ',' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

function parseLabels(s: string): Map<string, string> {
  const labels = new Map<string, string>();
  for (const pair of splitLabelPairs(s)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const key = pair.slice(0, eq).trim();
    let val = pair.slice(eq + 1).trim();
    if (val.length >= 2 && val.startsWith('"') && val.endsWith('"')) val = val.slice(1, -1);
    if (key !== '' && val.trim() !== '') labels.set(key, val);
  }
  return labels;
}

function parseLine(line: string): Sample | undefined {
  const brace = line.indexOf('{');
  const space = line.indexOf(' ');
  let name: string;
  let labels = '';
  let rest: string;
  if (brace !== -1 && (space === -1 || brace < space)) {
    const close = line.lastIndexOf('}');
    if (close <= brace) return undefined;
    name = line.slice(0, brace);
    labels = line.slice(brace + 1, close);
    rest = line.slice(close + 1).trim();
  } else if (space !== -1) {
    name = line.slice(0, space);
    rest = line.slice(space + 1).trim();
  } else return undefined;
  name = name.trim();
  const first = rest.split(/\s+/).filter(Boolean)[0];
  if (name === '' || first === undefined) return undefined;
  const value = parseFloatGo(first);
  if (value === undefined || Number.isNaN(value)) return undefined;
  return { name, labels: parseLabels(labels), value };
}

function parseExposition(body: string): Sample[] {
  return body
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .flatMap((l) => parseLine(l) ?? []);
}

/** Names of the per-accelerator metrics the test would find, sorted. */
function found(samples: readonly Sample[], exact: string, patterns: readonly string[]): string[] {
  const names = new Set<string>();
  for (const m of samples) {
    if (!DEVICE_LABEL_KEYS.some((k) => m.labels.has(k))) continue;
    if (exact ? m.name === exact : patterns.some((p) => m.name.toLowerCase().includes(p))) names.add(m.name);
  }
  return [...names].sort();
}

const CAPTURES: Record<string, { golden: string; utilization: string[]; temperature: boolean; power: string[] }> = {
  'NVIDIA H100 (nvidia-smi)': {
    golden: 'nvidia/h100-load.prom',
    utilization: ['accelerator_engine_utilization_ratio', 'accelerator_memory_controller_utilization_ratio', 'hw_gpu_utilization_ratio'],
    temperature: true,
    power: ['accelerator_power_limit_watts', 'hw_power_watts'],
  },
  'AMD MI300X (amd-smi)': {
    golden: 'amd/amd-smi-mi300x-cpx-rocm7.prom',
    utilization: ['accelerator_memory_controller_utilization_ratio', 'hw_gpu_utilization_ratio'],
    temperature: true,
    power: ['hw_energy_joules_total', 'hw_power_watts'],
  },
  'Intel Data Center GPU Max 1550 (xpu-smi)': {
    golden: 'intel/max-1550-tiles.prom',
    utilization: ['accelerator_memory_controller_utilization_ratio', 'hw_gpu_utilization_ratio'],
    temperature: true,
    power: ['hw_power_watts'],
  },
  'Intel Gaudi 3 (hl-smi)': {
    golden: 'gaudi/hl-325l-gaudi3.prom',
    utilization: ['hw_gpu_utilization_ratio'],
    temperature: true,
    power: ['accelerator_power_limit_watts', 'hw_power_watts'],
  },
  'AWS Trainium trn1.2xlarge (neuron-monitor)': {
    golden: 'neuron/trn1-2xlarge.prom',
    utilization: ['accelerator_core_utilization_ratio', 'hw_gpu_utilization_ratio'],
    temperature: false,
    power: [],
  },
};

describe('AI Conformance accelerator_metrics rules on the exporter output', () => {
  it('parses the way the upstream test does: empty labels, NaN and unparsable values are skipped', () => {
    const s = parseExposition('# HELP x y\nm{uuid="",gpu="0",a="b,c"} 1\nn{uuid="u"} NaN\no{uuid="u"} +Inf 1700000000\np 12\nq{uuid="u"} [N/A]\n');
    assert.deepEqual(
      s.map((x) => [x.name, Object.fromEntries(x.labels), x.value]),
      [
        ['m', { gpu: '0', a: 'b,c' }, 1],
        ['o', { uuid: 'u' }, Infinity],
        ['p', {}, 12],
      ],
    );
    assert.deepEqual(found(s, '', ['m', 'p']), ['m'], 'p has no device label');
  });

  for (const [vendor, want] of Object.entries(CAPTURES)) {
    it(`${vendor}: utilisation found by pattern, memory only by -metrics-memory-metric=${MEMORY_FLAG}`, () => {
      const samples = parseExposition(readFileSync(path.join(ROOT, 'test/golden', want.golden), 'utf8'));
      assert.ok(samples.length > 20);
      assert.deepEqual(found(samples, '', UTILIZATION), want.utilization);
      // No name of ours contains "memory_used" or the other spellings: the flag is required.
      assert.deepEqual(found(samples, '', MEMORY), []);
      assert.deepEqual(found(samples, MEMORY_FLAG, []), [MEMORY_FLAG]);
      // Every found sample carries a value the test accepts, and a device label.
      const memory = samples.filter((m) => m.name === MEMORY_FLAG);
      assert.ok(memory.length > 0 && memory.every((m) => Number.isFinite(m.value) && DEVICE_LABEL_KEYS.some((k) => m.labels.has(k))));
      assert.deepEqual(found(samples, '', SHOULD.temperature), want.temperature ? ['hw_temperature_celsius'] : []);
      assert.deepEqual(found(samples, '', SHOULD.power), want.power);
      assert.deepEqual(found(samples, '', SHOULD.interconnect), [], 'no interconnect bandwidth metric yet');
    });
  }

  it('a node whose only GPU is in MIG mode has no utilisation for the test to find (nvidia-smi reports none there)', () => {
    const samples = parseExposition(readFileSync(path.join(ROOT, 'test/golden/nvidia/h100-mig-load.prom'), 'utf8'));
    assert.deepEqual(found(samples, '', UTILIZATION), []);
    assert.deepEqual(found(samples, MEMORY_FLAG, []), [MEMORY_FLAG]);
  });

  it('docs/conformance.md gives the command line for our Service, with the memory flag', () => {
    const doc = readFileSync(path.join(ROOT, 'docs/conformance.md'), 'utf8');
    const service = readFileSync(path.join(ROOT, 'daemonset/base/service.yaml'), 'utf8');
    const kustomization = readFileSync(path.join(ROOT, 'daemonset/base/kustomization.yaml'), 'utf8');
    const namespace = /^namespace: (\S+)$/m.exec(kustomization)![1]!;
    const name = /^  name: (\S+)$/m.exec(service)![1]!;
    const port = /- name: (\S+)\n\s+port: (\d+)/.exec(service)!;
    const command = `go test -v ./test -run TestAcceleratorPerformanceMetrics -args -metrics-namespace=${namespace} -metrics-service-name=${name} -metrics-service-port=${port[1]} -metrics-memory-metric=${MEMORY_FLAG}`;
    assert.ok(doc.includes(command), `docs/conformance.md lacks:\n${command}`);
  });
});
