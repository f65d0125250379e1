// The one place the exported state lives. Two inputs: the poller's snapshots
// and, when attribution is on, its join of the kubelet/API state with them
// (run again whenever either side changes, never per scrape). The exposition
// and OTLP read what it publishes.

import type { AttributionView } from './attribution/view.ts';
import type { Snapshot } from './collect/snapshot.ts';

/** What /metrics and OTLP export: a poller snapshot, with its attribution when that is on. */
export interface ExportedSnapshot extends Snapshot {
  readonly attribution?: AttributionView;
}

export class SnapshotStore {
  private snapshot: Snapshot;
  private readonly attribute: ((s: Snapshot) => AttributionView) | undefined;
  private exported: ExportedSnapshot;
  private readonly listeners: ((s: ExportedSnapshot) => void)[] = [];

  constructor(initial: Snapshot, attribute?: (s: Snapshot) => AttributionView) {
    this.snapshot = initial;
    this.attribute = attribute;
    this.exported = this.join();
  }

  current(): ExportedSnapshot {
    return this.exported;
  }

  /** Calls `listener` now and with every state published from now on. */
  subscribe(listener: (s: ExportedSnapshot) => void): void {
    this.listeners.push(listener);
    listener(this.exported);
  }

  /** Input: a new snapshot from the poller. */
  setSnapshot(s: Snapshot): void {
    this.snapshot = s;
    this.publish();
  }

  /** Input: attribution's sources changed; join the current snapshot again. */
  attributionChanged(): void {
    this.publish();
  }

  private join(): ExportedSnapshot {
    return this.attribute ? { ...this.snapshot, attribution: this.attribute(this.snapshot) } : this.snapshot;
  }

  private publish(): void {
    this.exported = this.join();
    for (const listener of this.listeners) listener(this.exported);
  }
}
