// Renders a snapshot once per format, on the first scrape after the poller
// publishes it (as kube-state-metrics renders at event time), and keeps the
// UTF-8 bytes: a scrape writes those bytes as they are, followed by the few
// scrape-time families (sample age, process CPU and memory). No scrape
// re-renders or re-encodes the snapshot.
//
// The bytes live in buffers that are reused: a page's buffer goes back to a
// spare once its snapshot is replaced and no response is still writing it.
// A fresh 572 kB buffer per render (64 GPUs, 1 s interval) is external memory
// that V8 frees only at a major GC, and tens of MiB of dead pages piled up
// before one came.

import type { Snapshot } from '../collect/snapshot.ts';
import type { MetricFamily } from './family.ts';
import { OPENMETRICS_EOF, renderFamilies, renderFamily, type Format } from './serialize.ts';

const EOF_BYTES = Buffer.from(OPENMETRICS_EOF);
const EMPTY = Buffer.alloc(0);

interface Page {
  readonly buffer: Buffer;
  readonly length: number;
  /** Responses still writing it. */
  writers: number;
  retired: boolean;
}

/** What a scrape writes, in order; `done` must be called once the response has finished or failed. */
export interface Rendered {
  readonly chunks: readonly Buffer[];
  readonly done: () => void;
}

export class Exposition {
  private snapshot: Snapshot | undefined;
  private readonly pages = new Map<Format, Page>();
  private readonly spares = new Map<Format, Buffer>();
  private readonly snapshotFamilies: readonly MetricFamily[];
  private readonly scrapeFamilies: readonly MetricFamily[];

  constructor(snapshotFamilies: readonly MetricFamily[], scrapeFamilies: readonly MetricFamily[]) {
    this.snapshotFamilies = snapshotFamilies;
    this.scrapeFamilies = scrapeFamilies;
  }

  update(snapshot: Snapshot): void {
    this.snapshot = snapshot;
    for (const [format, page] of this.pages) {
      page.retired = true;
      this.recycle(format, page);
    }
    this.pages.clear();
  }

  render(format: Format, nowMs: number): Rendered {
    const s = this.snapshot;
    if (!s) return { chunks: format === 'openmetrics' ? [EOF_BYTES] : [EMPTY], done: () => {} };
    let page = this.pages.get(format);
    if (page === undefined) {
      page = this.encode(format, s);
      this.pages.set(format, page);
    }
    const p = page;
    p.writers++;
    const tail = Buffer.from(renderFamilies(collect(this.scrapeFamilies, s, nowMs), format), 'utf8');
    const body = p.buffer.subarray(0, p.length);
    let finished = false;
    return {
      chunks: format === 'openmetrics' ? [body, tail, EOF_BYTES] : [body, tail],
      done: () => {
        if (finished) return;
        finished = true;
        p.writers--;
        this.recycle(format, p);
      },
    };
  }

  /**
   * Renders family by family straight into the page buffer, so that each family's
   * samples and text die young: holding every sample and line of 64 GPUs at once
   * outlived V8's young generation (--max-semi-space-size=1) and grew the old one.
   */
  private encode(format: Format, s: Snapshot): Page {
    let buffer = this.spares.get(format) ?? Buffer.allocUnsafeSlow(64 * 1024);
    this.spares.delete(format);
    let length = 0;
    for (const family of this.snapshotFamilies) {
      const text = renderFamily({ family, samples: [...family.samples(s, s.takenAtMs)] }, format);
      const need = length + Buffer.byteLength(text, 'utf8');
      if (need > buffer.length) {
        const bigger = Buffer.allocUnsafeSlow(need + (need >> 1));
        buffer.copy(bigger, 0, 0, length);
        buffer = bigger;
      }
      length += buffer.write(text, length, 'utf8');
    }
    return { buffer, length, writers: 0, retired: false };
  }

  private recycle(format: Format, page: Page): void {
    if (!page.retired || page.writers > 0) return;
    const spare = this.spares.get(format);
    if (!spare || spare.length < page.buffer.length) this.spares.set(format, page.buffer);
  }
}

export function collect(families: readonly MetricFamily[], s: Snapshot, nowMs: number) {
  return families.map((family) => ({ family, samples: [...family.samples(s, nowMs)] }));
}
