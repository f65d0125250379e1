// The shipped rules: promtool accepts them, every alert has promtool unit
// tests that see it fire and stay silent, a runbook section and the
// annotations Alertmanager templates need, and the PrometheusRule manifest is
// the rules file.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { DCGM_FIELDS, DCGM_RULES_FILE } from '../../alerts/dcgm-compat.ts';
import { PROMETHEUS_RULE_FILE, prometheusRule, RULES_FILE } from '../../alerts/prometheusrule.ts';
import { ROOT } from '../helpers/exporter.ts';
import { promtool } from '../helpers/golden.ts';
import { alertRules, alertTestCases, recordNames } from '../helpers/rules-file.ts';

const rulesPath = path.join(ROOT, RULES_FILE);
const rulesYaml = readFileSync(rulesPath, 'utf8');
const testsDir = path.join(ROOT, 'alerts/tests');
const testFiles = readdirSync(testsDir)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => path.join(testsDir, f));

describe('alert and recording rules', () => {
  it('pass promtool check rules', (t) => {
    const r = promtool(['check', 'rules', rulesPath]);
    if (!r.available) return t.skip('promtool not installed');
    assert.equal(r.status, 0, r.output);
  });

  it('include dcgm-exporter compatibility rules that pass promtool check rules', (t) => {
    const r = promtool(['check', 'rules', path.join(ROOT, DCGM_RULES_FILE)]);
    if (!r.available) return t.skip('promtool not installed');
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, new RegExp(`SUCCESS: ${2 + DCGM_FIELDS.filter((f) => f.expr).length} rules found`));
    assert.equal(DCGM_FIELDS.filter((f) => f.expr).length, 15);
  });

  it('fit the ruler limits of Mimir and Grafana Cloud (20 rules per group by default) unchanged', () => {
    for (const file of [RULES_FILE, DCGM_RULES_FILE]) {
      const groups = (parse(readFileSync(path.join(ROOT, file), 'utf8')) as { groups: { name: string; rules: unknown[] }[] }).groups;
      for (const g of groups) assert.ok(g.rules.length <= 20, `${file} ${g.name}: ${g.rules.length} rules`);
      // Only the keys of Prometheus' rule group format, which Thanos Ruler and mimirtool read as is.
      for (const g of groups) assert.deepEqual(Object.keys(g).filter((k) => !['name', 'interval', 'rules', 'limit'].includes(k)), [], `${file} ${g.name}`);
    }
  });

  it('pass their promtool unit tests', (t) => {
    const r = promtool(['test', 'rules', ...testFiles]);
    if (!r.available) return t.skip('promtool not installed');
    assert.equal(r.status, 0, r.output);
  });

  it('have a firing and a silent unit test for every alert', () => {
    const firing = new Set<string>();
    const silent = new Set<string>();
    for (const f of testFiles) {
      const c = alertTestCases(readFileSync(f, 'utf8'));
      c.firing.forEach((n) => firing.add(n));
      c.silent.forEach((n) => silent.add(n));
    }
    const names = alertRules(rulesYaml).map((a) => a.name);
    assert.ok(names.length >= 15, `expected the full alert set, found ${names.length}`);
    assert.deepEqual(names.filter((n) => !firing.has(n)), [], 'alerts without a test that sees them fire');
    assert.deepEqual(names.filter((n) => !silent.has(n)), [], 'alerts without a test that sees them stay silent');
  });

  it('give every alert a severity, summary, description and a runbook section that exists in the repository package.json names', () => {
    const runbooks = readFileSync(path.join(ROOT, 'docs/runbooks.md'), 'utf8');
    // GitHub's heading anchors: lower case, punctuation other than - and _ removed, spaces to -.
    const slug = (h: string) => h.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
    const anchors = new Set([...runbooks.matchAll(/^## (.+)$/gm)].map((m) => slug(m[1]!)));
    const repo = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { repository: { url: string } }).repository.url.replace(/^git\+/, '').replace(/\.git$/, '');
    assert.equal(repo, 'https://github.com/accelerator-exporter/accelerator-exporter');
    for (const a of alertRules(rulesYaml)) {
      assert.match(a.text, /\n\s+severity: (critical|warning|info)\n/, `${a.name}: severity`);
      assert.match(a.text, /\n\s+summary: \S/, `${a.name}: summary`);
      assert.match(a.text, /\n\s+description: \S/, `${a.name}: description`);
      const url = /\n\s+runbook_url: (\S+)/.exec(a.text)?.[1];
      assert.ok(url, `${a.name}: runbook_url`);
      assert.equal(url, `${repo}/blob/main/docs/runbooks.md#${slug(a.name)}`, `${a.name}: runbook_url does not point at its own section of this repository`);
      assert.ok(anchors.has(new URL(url).hash.slice(1)), `${a.name}: docs/runbooks.md has no section with the anchor of ${url}`);
    }
  });

  it('ship a PrometheusRule generated from the rules file (node dashboards/build.ts)', () => {
    assert.equal(readFileSync(path.join(ROOT, PROMETHEUS_RULE_FILE), 'utf8'), prometheusRule(rulesYaml));
  });

  it('ship a PrometheusRule whose spec promtool reads as the same rules', (t) => {
    // The manifest minus its header, unindented, is a rules file again.
    const manifest = readFileSync(path.join(ROOT, PROMETHEUS_RULE_FILE), 'utf8');
    const spec = manifest.slice(manifest.indexOf('spec:\n') + 'spec:\n'.length).replace(/^ {2}/gm, '');
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'prometheusrule-')), 'spec.yaml');
    writeFileSync(file, spec);
    const r = promtool(['check', 'rules', file]);
    if (!r.available) return t.skip('promtool not installed');
    assert.equal(r.status, 0, r.output);
    const count = (alertRules(rulesYaml).length + recordNames(rulesYaml).length).toString();
    assert.match(r.output, new RegExp(`SUCCESS: ${count} rules found`));
  });
});
