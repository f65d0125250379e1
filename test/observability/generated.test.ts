// The committed dashboards, their ConfigMap and the PrometheusRule are what
// `node dashboards/build.ts` generates, and the dashboards are current
// Grafana JSON: no Angular panels, one datasource variable, the filters the
// issue asks for.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CONFIGMAP_FILE, DASHBOARDS, generatedFiles } from '../../dashboards/src/generated.ts';
import { ROOT } from '../helpers/exporter.ts';

const PANEL_TYPES = new Set(['row', 'timeseries', 'stat', 'table', 'gauge', 'state-timeline', 'bargauge']);

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { expr: string; datasource: { uid: string } }[];
}

describe('generated observability files', () => {
  const files = generatedFiles(ROOT);

  for (const [file, text] of files) {
    it(`${file} is committed as generated (node dashboards/build.ts)`, () => {
      assert.equal(readFileSync(path.join(ROOT, file), 'utf8'), text);
    });
  }

  for (const file of Object.keys(DASHBOARDS)) {
    it(`dashboards/${file} is current Grafana JSON`, () => {
      const d = JSON.parse(files.get(`dashboards/${file}`)!) as { uid: string; panels: Panel[]; templating: { list: { name: string; type: string }[] } };
      const vars = d.templating.list.map((v) => v.name);
      assert.equal(d.templating.list[0]?.type, 'datasource');
      assert.ok(vars.includes('node'), 'node variable');
      const ids = new Set<number>();
      for (const p of d.panels) {
        assert.ok(PANEL_TYPES.has(p.type), `${p.title}: panel type ${p.type}`);
        assert.ok(!ids.has(p.id), `duplicate panel id ${p.id}`);
        ids.add(p.id);
        assert.ok(p.gridPos.x + p.gridPos.w <= 24, `${p.title} is wider than the grid`);
        if (p.type === 'row') continue;
        assert.equal(p.datasource?.uid, '${datasource}', `${p.title}: datasource`);
        assert.ok(p.targets?.length, `${p.title}: no query`);
        for (const t of p.targets) assert.equal(t.datasource.uid, '${datasource}');
      }
    });
  }

  it('puts the workloads filter on namespace and the fleet filters on vendor and model', () => {
    assert.deepEqual(DASHBOARDS['workloads.json']!.variables.map((v) => v.name), ['node', 'namespace']);
    assert.deepEqual(DASHBOARDS['fleet.json']!.variables.map((v) => v.name), ['node', 'vendor', 'model']);
  });

  it('ships every dashboard, byte for byte, in the ConfigMap for the Grafana sidecar', () => {
    const cm = files.get(CONFIGMAP_FILE)!;
    assert.match(cm, /\n {4}grafana_dashboard: "1"\n/);
    for (const file of Object.keys(DASHBOARDS)) {
      const start = cm.indexOf(`\n  ${file}: |\n`);
      assert.ok(start > 0, `${file} missing from the ConfigMap`);
      const block: string[] = [];
      for (const line of cm.slice(start + `\n  ${file}: |\n`.length).split('\n')) {
        if (!line.startsWith('    ')) break;
        block.push(line.slice(4));
      }
      assert.equal(block.join('\n') + '\n', files.get(`dashboards/${file}`));
    }
  });
});
