// Renders a snapshot once, when the poller publishes it (as kube-state-metrics
// renders at event time), so a scrape is a string concatenation. Only the
// scrape-time families are rendered per request.

import type { Snapshot } from '../collect/snapshot.ts';
import type { MetricFamily } from './family.ts';
import { OPENMETRICS_EOF, renderFamilies, type Format } from './serialize.ts';

export class Exposition {
  private snapshot: Snapshot | undefined;
  private readonly cache = new Map<Format, string>();
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

  render(format: Format, nowMs: number): string {
    const s = this.snapshot;
    if (!s) return format === 'openmetrics' ? OPENMETRICS_EOF : '';
    let body = this.cache.get(format);
    if (body === undefined) {
      body = renderFamilies(collect(this.snapshotFamilies, s, s.takenAtMs), format);
      this.cache.set(format, body);
    }
    const tail = renderFamilies(collect(this.scrapeFamilies, s, nowMs), format);
    return format === 'openmetrics' ? body + tail + OPENMETRICS_EOF : body + tail;
  }
}

export function collect(families: readonly MetricFamily[], s: Snapshot, nowMs: number) {
  return families.map((family) => ({ family, samples: [...family.samples(s, nowMs)] }));
}
