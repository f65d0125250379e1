// The exposition's cached page: exact bytes per format, the scrape-time tail
// after it, and a buffer reused only once no response is writing it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Snapshot } from '../../src/collect/snapshot.ts';
import { Exposition } from '../../src/metrics/exposition.ts';
import type { MetricFamily } from '../../src/metrics/family.ts';

const snap = (takenAtMs: number, value: number) => ({ takenAtMs, value }) as unknown as Snapshot;
const gauge: MetricFamily = {
  name: 'x_value',
  help: 'A value.',
  type: 'gauge',
  unit: '',
  labelNames: ['k'],
  stability: 'alpha',
  *samples(s) {
    yield { labels: ['v'], value: (s as unknown as { value: number }).value };
  },
};
const age: MetricFamily = {
  name: 'x_age_seconds',
  help: 'Age.',
  type: 'gauge',
  unit: 'seconds',
  labelNames: [],
  stability: 'alpha',
  *samples(s, now) {
    yield { labels: [], value: (now - s.takenAtMs) / 1000 };
  },
};
const text = (chunks: readonly Buffer[]) => Buffer.concat(chunks).toString('utf8');

describe('Exposition', () => {
  it('serves the cached page then the scrape-time tail, in both formats', () => {
    const e = new Exposition([gauge], [age]);
    assert.equal(text(e.render('prometheus', 0).chunks), '');
    assert.equal(text(e.render('openmetrics', 0).chunks), '# EOF\n');
    e.update(snap(1000, 7));
    assert.equal(text(e.render('prometheus', 3000).chunks), '# HELP x_value A value.\n# TYPE x_value gauge\nx_value{k="v"} 7\n# HELP x_age_seconds Age.\n# TYPE x_age_seconds gauge\nx_age_seconds 2\n');
    assert.equal(text(e.render('openmetrics', 4000).chunks), '# HELP x_value A value.\n# TYPE x_value gauge\nx_value{k="v"} 7\n# HELP x_age_seconds Age.\n# TYPE x_age_seconds gauge\n# UNIT x_age_seconds seconds\nx_age_seconds 3\n# EOF\n');
  });

  it('reuses a page buffer only after every response writing it is done', () => {
    const e = new Exposition([gauge], []);
    e.update(snap(0, 1));
    const first = e.render('prometheus', 0);
    const firstBytes = first.chunks[0]!;
    e.update(snap(0, 2));
    // The first response is still writing: the new page must not overwrite its bytes.
    const second = e.render('prometheus', 0);
    assert.equal(text([firstBytes]), '# HELP x_value A value.\n# TYPE x_value gauge\nx_value{k="v"} 1\n');
    assert.notEqual(second.chunks[0]!.buffer, firstBytes.buffer);
    first.done();
    second.done();
    e.update(snap(0, 3));
    const third = e.render('prometheus', 0);
    assert.equal(text(third.chunks), '# HELP x_value A value.\n# TYPE x_value gauge\nx_value{k="v"} 3\n');
    assert.ok(third.chunks[0]!.buffer === firstBytes.buffer || third.chunks[0]!.buffer === second.chunks[0]!.buffer, 'a retired, finished page buffer is reused');
  });
});
