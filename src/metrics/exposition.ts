// Renders a snapshot once per format, on the first scrape after the poller
// publishes it (as kube-state-metrics renders at event time), and keeps the
// UTF-8 bytes: a scrape writes that Buffer as it is, followed by the few
// scrape-time families (sample age, process CPU and memory). No scrape
// re-renders or re-encodes the snapshot, and none allocates its size again.

import type { Snapshot } from '../collect/snapshot.ts';
import type { MetricFamily } from './family.ts';
import { OPENMETRICS_EOF, renderFamilies, type Format } from './serialize.ts';

const EOF_BYTES = Buffer.from(OPENMETRICS_EOF);
const EMPTY = Buffer.alloc(0);

export class Exposition {
  private snapshot: Snapshot | undefined;
  private readonly cache = new Map<Format, Buffer>();
  private readonly snapshotFamilies: readonly MetricFamily[];
  private readonly scrapeFamilies: readonly MetricFamily[];

  constructor(snapshotFamilies: readonly MetricFamily[], scrapeFamilies: readonly MetricFamily[]) {
    this.snapshotFamilies = snapshotFamilies;
    this.scrapeFamilies = scrapeFamilies;
  }

  update(snapshot: Snapshot): void {
    this.snapshot = snapshot;
    this.cache.clear();
  }

  /** The page as chunks to write in order: the cached snapshot bytes, the scrape-time tail, and OpenMetrics' EOF. */
  render(format: Format, nowMs: number): readonly Buffer[] {
    const s = this.snapshot;
    if (!s) return format === 'openmetrics' ? [EOF_BYTES] : [EMPTY];
    let body = this.cache.get(format);
    if (body === undefined) {
      body = Buffer.from(renderFamilies(collect(this.snapshotFamilies, s, s.takenAtMs), format), 'utf8');
      this.cache.set(format, body);
    }
    const tail = Buffer.from(renderFamilies(collect(this.scrapeFamilies, s, nowMs), format), 'utf8');
    return format === 'openmetrics' ? [body, tail, EOF_BYTES] : [body, tail];
  }
}

export function collect(families: readonly MetricFamily[], s: Snapshot, nowMs: number) {
  return families.map((family) => ({ family, samples: [...family.samples(s, nowMs)] }));
}
