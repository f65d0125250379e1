// The registry is where a vendor is declared: what attribution's defaults,
// the README's backend table and the DaemonSet's scheduling say about vendors
// must follow from it.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { backendFactory, vendorsOf } from '../../src/backends/backend.ts';
import { BACKEND_FACTORIES } from '../../src/backends/registry.ts';
import { parseConfig } from '../../src/config.ts';
import { option } from '../../src/options.ts';
import { ROOT } from '../helpers/exporter.ts';

const vendors = vendorsOf(BACKEND_FACTORIES);

function config(argv: string[] = []) {
  const r = parseConfig(argv, {}, BACKEND_FACTORIES);
  assert.equal(r.kind, 'run');
  return r.config;
}

describe('backend registry', () => {
  it('names each backend once', () => {
    const names = BACKEND_FACTORIES.map((f) => f.name);
    assert.deepEqual(names, [...new Set(names)]);
    assert.deepEqual(names, ['nvml', 'nvidia-smi', 'amd-smi', 'rocm-smi', 'xpu-smi', 'hl-smi', 'neuron-monitor']);
  });

  it('gives attribution the vendors\' resource names and DRA drivers as defaults', () => {
    const a = config().attribution;
    assert.equal(a.resourceNames, 'nvidia.com/*,amd.com/*,gpu.intel.com/*,habana.ai/*,aws.amazon.com/neuron*');
    assert.equal(a.draDrivers, 'gpu.nvidia.com,gpu.amd.com,gpu.intel.com,*.habana.ai,neuron.amazonaws.com');
    assert.equal(a.resourceNames, [...new Set(vendors.flatMap((v) => v.resourceNames))].join(','));
    const doc = readFileSync(path.join(ROOT, 'docs/attribution.md'), 'utf8').replace(/\s+/g, ' ');
    assert.ok(doc.includes(`\`--attribution.resource-names\` (\`${a.resourceNames}\`)`), 'docs/attribution.md gives the default resource names');
    assert.ok(doc.includes(`\`--attribution.dra-drivers\` (\`${a.draDrivers}\``), 'docs/attribution.md gives the default DRA drivers');
  });

  it('parses each backend\'s options into its typed object, and enables by flag', async () => {
    const c = config(['--no-backend.amd-smi', '--backend.rocm-smi', '--rocm-smi.path=/opt/rocm/bin/rocm-smi']);
    assert.deepEqual(
      c.backends.map((b) => b.name),
      ['nvml', 'nvidia-smi', 'rocm-smi', 'xpu-smi', 'hl-smi', 'neuron-monitor'],
    );
    // @ts-expect-error a misspelt option is a compile error, not a silent default
    void c.attribution.resourceName;
  });

  it('gives a factory its own options, typed', async () => {
    const built: string[] = [];
    const example = backendFactory({
      name: 'example',
      vendor: vendors[0]!,
      defaultEnabled: false,
      description: 'an example',
      options: { library: option.string('example.library', 'libexample.so.1', 'The library to load.'), retries: option.int('example.retries', 2, 'Retries.') },
      load: async () => (deps, options) => {
        built.push(`${options.library} x${options.retries + 1}`);
        // @ts-expect-error a misspelt option of a backend is a compile error
        void options.libary;
        return { name: deps.name, sample: () => Promise.reject(new Error('unused')), toolStarts: () => 0, close: async () => {} };
      },
    });
    const r = parseConfig(['--backend.example', '--example.retries=4'], {}, [example]);
    assert.equal(r.kind, 'run');
    const backend = await r.config.backends[0]!.create({ runner: { starts: () => 0, run: () => Promise.reject(new Error('unused')) }, log: {} as never, timeoutMs: 1 });
    assert.equal(backend.name, 'example');
    assert.deepEqual(built, ['libexample.so.1 x5']);
  });

  it('builds every backend from its lazily imported module, named after its factory', async () => {
    const log = { child: () => log, info() {}, warn() {}, debug() {}, error() {} } as never;
    const runner = { starts: () => 0, run: () => Promise.reject(new Error('not run')) };
    for (const f of BACKEND_FACTORIES) {
      const create = await f.load();
      const backend = create({ name: f.name, runner, log, timeoutMs: 1000 }, { path: '/nonexistent' } as never);
      assert.equal(backend.name, f.name);
      assert.equal(backend.toolStarts(), 0);
      await backend.close();
    }
  });

  it('matches the README backend table: one row per backend with its default', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const lines = readme.split('\n');
    const header = lines.indexOf('| Vendor | Backend (tool) | Default |');
    assert.ok(header >= 0, 'README.md has the backend table');
    const end = lines.findIndex((l, i) => i > header && !l.startsWith('|'));
    const rows = lines
      .slice(header + 2, end)
      .map((l) => {
        const cells = l.split('|').map((c) => c.trim());
        return { name: /^`([a-z-]+)/.exec(cells[2]!)?.[1], on: cells[3]!.startsWith('on') };
      });
    assert.deepEqual(
      rows,
      BACKEND_FACTORIES.map((f) => ({ name: f.name, on: f.defaultEnabled })),
    );
  });
});

describe('daemonset/base', () => {
  const ds = parse(readFileSync(path.join(ROOT, 'daemonset/base/daemonset.yaml'), 'utf8'));
  const pod = ds.spec.template.spec;

  it('tolerates exactly the taints the vendors declare', () => {
    assert.deepEqual(
      pod.tolerations,
      vendors.flatMap((v) => v.tolerations.map((key) => ({ key, operator: 'Exists' }))),
    );
  });

  it('schedules on exactly the node labels the vendors declare', () => {
    const terms = pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
    assert.deepEqual(
      terms,
      vendors.flatMap((v) =>
        v.nodeLabels.map((l) => ({ matchExpressions: [l.value === undefined ? { key: l.key, operator: 'Exists' } : { key: l.key, operator: 'In', values: [l.value] }] })),
      ),
    );
  });
});
