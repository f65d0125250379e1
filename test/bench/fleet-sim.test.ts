// Keeps the fleet simulation (npm run fleet-sim) from rotting: a fleet of
// eight nodes, ten minutes of data, through the whole pipeline (OpenMetrics,
// promtool backfill of samples and recording rules, the real Prometheus) with
// every rule, alert and dashboard query evaluated once. The sizes that matter
// run by hand (docs/scaling.md); this only proves the machinery and the data.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { loadTemplates, nodeSeries } from '../../bench/fleet-data.ts';
import { dashboardQueries, plannedFleet, report, simulateSize, type SimOptions } from '../../bench/fleet-sim.ts';
import { ROOT } from '../helpers/exporter.ts';
import { prometheusAvailable } from '../helpers/prometheus.ts';

const skip = !prometheusAvailable() && !process.env.CI ? 'prometheus is not installed (apt-get install prometheus)' : false;

describe('fleet simulation', { skip }, () => {
  it('backfills a small fleet and evaluates every rule and dashboard query without error', async () => {
    const opts: SimOptions = { nodes: [8], minutes: 10, intervalS: 30, repeat: 1 };
    const f = await simulateSize(8, opts);
    const templates = loadTemplates();
    let series = 0;
    for (let k = 0; k < 8; k++) series += nodeSeries(templates, k).length;
    assert.equal(f.activeSeries, series, 'every generated series is in Prometheus');
    // Node 3 lost its GPU 7, node 5's backend fails, nodes 6 and 7 each hold two idle GPUs;
    // every other GPU of the seven answering nodes has its dcgm-exporter compatibility series.
    assert.deepEqual(f.fleet, plannedFleet(8));
    assert.deepEqual(f.fleet, { lostGpus: 1, failingBackends: 1, allocatedIdleGpus: 4, dcgmGpuTempSeries: 55 });

    const groups = ['alerts/accelerator.rules.yaml', 'alerts/dcgm-compat.rules.yaml'].flatMap((file) =>
      (parse(readFileSync(path.join(ROOT, file), 'utf8')) as { groups: { name: string }[] }).groups.map((g) => g.name),
    );
    assert.deepEqual(f.groups.map((g) => g.group), groups);
    assert.deepEqual(f.groups.flatMap((g) => g.errors), []);
    assert.ok(f.groups.every((g) => Number.isFinite(g.cpuMs) && g.cpuMs >= 0), 'Prometheus CPU time is read for every group');
    assert.deepEqual(Object.keys(f.dashboardCpuMs).sort(), ['this exporter.json', 'this fleet.json', 'this node.json', 'this workloads.json']);
    assert.equal(f.dashboards.length, dashboardQueries(path.join(ROOT, 'dashboards')).length);
    assert.deepEqual(f.dashboards.filter((d) => d.error).map((d) => `${d.id}: ${d.error}`), []);
    // The fleet dashboard answers from the recording rules: a handful of series per query.
    for (const d of f.dashboards.filter((x) => x.id.startsWith('fleet / ') && x.range)) assert.ok(d.samples <= 8 * 21 * 2, `${d.id} reads ${d.samples} samples`);

    const table = report([f], opts);
    assert.match(table, /^\| Active series \| \d+ \| \d+ \|$/m);
    assert.match(table, /^\| accelerator-exporter\.fleet\.rules \(13, 30 s\) \| /m);
    assert.match(table, /^\| fleet \/ Accelerators \| instant \| /m);
  });
});
