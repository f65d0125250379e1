// docs/install.md's scrape job for Prometheus without the Operator: a config
// promtool accepts, with the job name and labels the rules and dashboards expect.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { ROOT } from '../helpers/exporter.ts';

const doc = readFileSync(path.join(ROOT, 'docs/install.md'), 'utf8');
const section = doc.slice(doc.indexOf('## Without prometheus-operator'), doc.indexOf('## Platforms'));
const block = /```yaml\n(scrape_configs:[\s\S]*?)```/.exec(section)?.[1];
const promtool = spawnSync('promtool', ['--version']).status === 0;

test('the scrape job without the Operator names the job the rules expect and sets node and instance', () => {
  assert.ok(block, 'a yaml block starting with scrape_configs:');
  const job = (parse(block) as { scrape_configs: { job_name: string; honor_labels: boolean; relabel_configs: { source_labels?: string[]; target_label?: string; action?: string }[] }[] }).scrape_configs[0]!;
  const rules = readFileSync(path.join(ROOT, 'alerts/accelerator.rules.yaml'), 'utf8');
  assert.ok(rules.includes(`up{job="${job.job_name}"}`), `the rules select up{job="${job.job_name}"}`);
  assert.equal(job.honor_labels, true);
  for (const target of ['node', 'instance']) {
    assert.ok(job.relabel_configs.some((r) => r.source_labels?.[0] === '__meta_kubernetes_pod_node_name' && r.target_label === target), target);
  }
  assert.ok(!job.relabel_configs.some((r) => ['namespace', 'pod', 'container'].includes(r.target_label ?? '')), 'no exporter-pod labels');
});

test('promtool accepts the scrape job', { skip: promtool ? false : 'promtool is not installed' }, (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ae-install-'));
  const check = (text: string) => {
    const file = path.join(dir, 'prometheus.yml');
    writeFileSync(file, text);
    const r = spawnSync('promtool', ['check', 'config', file], { encoding: 'utf8' });
    return { ok: r.status === 0, out: r.stdout + r.stderr };
  };
  try {
    // Relabel rules and everything but the discovery, with file_sd in its place.
    const withoutK8s = block!.replace(/kubernetes_sd_configs:\n(\s+)- role: pod\n\s+namespaces: .*\n/, (_m, indent: string) => `file_sd_configs:\n${indent}- files: [targets.json]\n`);
    assert.notEqual(withoutK8s, block);
    const relabel = check(withoutK8s);
    assert.ok(relabel.ok, relabel.out);
    const full = check(block!);
    // Debian's prometheus package is built without Kubernetes service discovery.
    if (!full.ok && full.out.includes('field kubernetes_sd_configs not found')) return t.skip('this promtool build has no Kubernetes service discovery');
    assert.ok(full.ok, full.out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
