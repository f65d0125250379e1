// Samples every backend in the background, each on its own timer, and keeps
// the last snapshot. Nothing here runs on the scrape path: a scrape reads
// `current()` and never waits for a tool.

import type { Logger } from 'pino';
import { BackendError, FAILURE_REASONS, NoDataError, type Backend, type FailureReason } from '../backends/backend.ts';
import { ParseError } from '../backends/values.ts';
import type { BackendReading, DeviceIdentity, Vendor } from '../model.ts';
import { ReadingGuard } from './reading-guard.ts';
import { compareDevices, type BackendState, type BackendStatus, type DeviceHealth, type Snapshot } from './snapshot.ts';

export interface PollerEntry {
  readonly backend: Backend;
  readonly vendor: Vendor;
  readonly intervalMs: number;
  /** Backends this one replaces while it serves devices (BackendFactory.supersedes). */
  readonly supersedes?: readonly string[];
}

export interface PollerOptions {
  /** Bound for one backend sample; the tool runs inside are bounded by it too. */
  readonly timeoutMs: number;
  /** How many intervals a failing backend's last good values are still served. */
  readonly graceIntervals: number;
  readonly log: Logger;
  readonly now?: () => number;
  /** Wraps each sample attempt of a backend (tracing makes it a span); the attempt never rejects. */
  readonly aroundSample?: (backend: string, attempt: () => Promise<SampleOutcome>) => Promise<SampleOutcome>;
}

/** How one sample attempt of a backend ended. */
export type SampleResult =
  | { readonly state: 'ok' }
  | { readonly state: 'no_data'; readonly message: string }
  | { readonly state: 'failed'; readonly reason: FailureReason; readonly message: string };

export type SampleOutcome = SampleResult & {
  readonly durationSeconds: number;
  /** Devices the backend contributes to the snapshot after the attempt. */
  readonly devices: number;
};

/** Repeated identical failures are logged at most this often. */
const FAILURE_LOG_EVERY_MS = 5 * 60_000;

interface Slot {
  readonly entry: PollerEntry;
  readonly log: Logger;
  state: BackendState;
  lastAttemptMs?: number;
  lastSuccessMs?: number;
  lastDurationSeconds?: number;
  lastMessage?: string;
  lastGood?: BackendReading;
  failures: Record<FailureReason, number>;
  lastFailureLogMs: number;
  suppressed: number;
  /** Value domains, duplicate uuids, the device bound, and devices that stop being listed. */
  readonly guard: ReadingGuard;
  timer?: NodeJS.Timeout;
  running?: Promise<SampleOutcome>;
  controller?: AbortController;
}

export class Poller {
  private readonly slots: Slot[];
  private readonly opts: PollerOptions;
  private readonly now: () => number;
  /** Identities seen, by bus id, so a device that falls off the bus keeps its labels on accelerator_device_up. */
  private readonly known = new Map<string, DeviceIdentity>();
  private snapshot: Snapshot;
  private readonly listeners: ((s: Snapshot) => void)[] = [];
  private stopped = false;

  constructor(entries: readonly PollerEntry[], opts: PollerOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    this.slots = entries.map((entry) => {
      const log = opts.log.child({ backend: entry.backend.name });
      const slot: Slot = {
        entry,
        log,
        guard: new ReadingGuard(log),
        state: 'pending',
        failures: Object.fromEntries(FAILURE_REASONS.map((r) => [r, 0])) as Record<FailureReason, number>,
        lastFailureLogMs: 0,
        suppressed: 0,
      };
      return slot;
    });
    this.snapshot = this.build();
  }

  current(): Snapshot {
    return this.snapshot;
  }

  /** Calls `listener` with every snapshot published from now on. */
  subscribe(listener: (s: Snapshot) => void): void {
    this.listeners.push(listener);
  }

  /** Every backend has finished at least one attempt. */
  settled(): boolean {
    return this.slots.every((s) => s.state !== 'pending');
  }

  start(): void {
    for (const slot of this.slots) this.loop(slot);
  }

  /** Runs one sample of every backend now; for tests and the first sample. */
  async sampleAll(): Promise<void> {
    await Promise.all(this.slots.map((s) => this.runOnce(s)));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const slot of this.slots) {
      clearTimeout(slot.timer);
      slot.controller?.abort();
    }
    await Promise.allSettled(this.slots.map((s) => s.running));
    await Promise.allSettled(this.slots.map((s) => s.entry.backend.close()));
  }

  private loop(slot: Slot): void {
    if (this.stopped) return;
    const started = this.now();
    void this.runOnce(slot).finally(() => {
      if (this.stopped) return;
      // A fixed cadence from the start of the run, never overlapping runs.
      const wait = Math.max(0, slot.entry.intervalMs - (this.now() - started));
      slot.timer = setTimeout(() => this.loop(slot), wait);
    });
  }

  private runOnce(slot: Slot): Promise<SampleOutcome> {
    if (slot.running) return slot.running;
    const attempt = () => this.attempt(slot);
    slot.running = (this.opts.aroundSample ? this.opts.aroundSample(slot.entry.backend.name, attempt) : attempt()).finally(() => {
      slot.running = undefined;
    });
    return slot.running;
  }

  /** The backend that replaces this one, if any. */
  private supersederOf(slot: Slot): Slot | undefined {
    return this.slots.find((s) => s !== slot && s.entry.supersedes?.includes(slot.entry.backend.name));
  }

  /** Whether a superseding backend serves devices now, so this slot must neither sample nor be served. */
  private superseded(slot: Slot, now: number): Slot | undefined {
    const by = this.supersederOf(slot);
    return by && this.servable(by, now) ? by : undefined;
  }

  private async attempt(slot: Slot): Promise<SampleOutcome> {
    const { backend } = slot.entry;
    const by = this.supersederOf(slot);
    // Wait for the superseding backend's sample in flight, so that both never start together.
    if (by?.running) await by.running;
    if (by && this.superseded(slot, this.now())) {
      if (slot.state !== 'no_data') slot.log.info({ by: by.entry.backend.name }, 'idle: another backend reads these devices');
      slot.state = 'no_data';
      slot.lastMessage = `${by.entry.backend.name} reads these devices`;
      slot.lastGood = undefined;
      slot.lastAttemptMs = this.now();
      this.publish();
      return { state: 'no_data', message: slot.lastMessage, durationSeconds: 0, devices: 0 };
    }
    const controller = new AbortController();
    slot.controller = controller;
    const started = this.now();
    const t0 = performance.now();
    let deadline: NodeJS.Timeout | undefined;
    let outcome: SampleResult;
    try {
      // The backend honours the signal, but a tool stuck in the driver can
      // outlive SIGKILL; the race makes sure the poller itself moves on.
      const reading = await Promise.race([
        backend.sample(controller.signal),
        new Promise<never>((_, reject) => {
          // A second timer lets pending I/O run first: on a busy event loop the tool's exit may be queued behind this one.
          deadline = setTimeout(() => {
            deadline = setTimeout(() => {
              controller.abort();
              reject(new BackendError('timeout', `sample did not finish within ${this.opts.timeoutMs} ms`));
            }, 0);
          }, this.opts.timeoutMs);
        }),
      ]);
      this.succeed(slot, slot.guard.accept(reading, started), started);
      outcome = { state: 'ok' };
    } catch (err) {
      outcome = this.fail(slot, err, started);
    } finally {
      clearTimeout(deadline);
      slot.lastDurationSeconds = (performance.now() - t0) / 1000;
      slot.lastAttemptMs = started;
    }
    const snapshot = this.publish();
    const devices = snapshot.backends.find((b) => b.name === backend.name)?.devices ?? 0;
    return { ...outcome, durationSeconds: slot.lastDurationSeconds, devices };
  }

  private succeed(slot: Slot, reading: BackendReading, at: number): void {
    if (slot.state === 'failed') slot.log.info({ after: slot.lastMessage }, 'backend recovered');
    else if (slot.state === 'pending' || slot.state === 'no_data') {
      slot.log.info({ devices: reading.devices.length, lost: reading.lost.length }, 'backend reading devices');
    }
    for (const lost of reading.lost) {
      if (!slot.lastGood?.lost.some((l) => l.pciBusId === lost.pciBusId)) {
        slot.log.error({ pciBusId: lost.pciBusId, message: lost.message }, 'device unreachable');
      }
    }
    slot.state = 'ok';
    slot.lastMessage = undefined;
    slot.lastSuccessMs = at;
    slot.lastGood = reading;
    slot.suppressed = 0;
    // Partitions share their parent's bus id: a lost device is named after the physical one where
    // that is read too (NVIDIA MIG), else after a partition (AMD XCP, whose parent has no series).
    for (const d of reading.devices) {
      if (!d.id.pciBusId) continue;
      const prev = this.known.get(d.id.pciBusId);
      if (!d.id.parentUuid || !prev || prev.parentUuid) this.known.set(d.id.pciBusId, d.id);
    }
  }

  private fail(slot: Slot, err: unknown, at: number): SampleResult {
    // A tool that read devices before and now says nothing has lost them: that is a failure, not an absent vendor.
    if (err instanceof NoDataError && slot.lastSuccessMs !== undefined) {
      err = new BackendError('empty', `${err.message}, after reporting devices before`);
    }
    if (err instanceof NoDataError) {
      if (slot.state !== 'no_data') slot.log.info({ reason: err.message }, 'no data from backend');
      slot.state = 'no_data';
      slot.lastMessage = err.message;
      slot.lastGood = undefined;
      return { state: 'no_data', message: err.message };
    }
    // A ParseError is the tool's unexpected output; anything else but a BackendError is a bug
    // of ours (a TypeError in a parser), not the tool's fault.
    const reason: FailureReason = err instanceof BackendError ? err.reason : err instanceof ParseError ? 'parse' : 'internal';
    const message = err instanceof Error ? err.message : String(err);
    slot.failures[reason]++;
    const first = slot.state !== 'failed' || slot.lastMessage !== message;
    if (first) {
      if (reason === 'internal') slot.log.error({ reason, err }, 'backend failed: a bug in the exporter');
      else slot.log.warn({ reason, err: message }, 'backend failed');
      slot.lastFailureLogMs = at;
      slot.suppressed = 0;
    } else if (at - slot.lastFailureLogMs >= FAILURE_LOG_EVERY_MS) {
      slot.log.warn({ reason, err: message, repeats: slot.suppressed + 1 }, 'backend still failing');
      slot.lastFailureLogMs = at;
      slot.suppressed = 0;
    } else {
      slot.suppressed++;
    }
    slot.state = 'failed';
    slot.lastMessage = message;
    return { state: 'failed', reason, message };
  }

  private servable(slot: Slot, now: number): BackendReading | undefined {
    if (!slot.lastGood) return undefined;
    if (slot.state === 'ok') return slot.lastGood;
    if (slot.state === 'failed' && slot.lastSuccessMs !== undefined) {
      const grace = slot.entry.intervalMs * this.opts.graceIntervals;
      if (now - slot.lastSuccessMs <= grace) return slot.lastGood;
    }
    return undefined;
  }

  private publish(): Snapshot {
    this.snapshot = this.build();
    for (const listener of this.listeners) listener(this.snapshot);
    return this.snapshot;
  }

  private build(): Snapshot {
    const now = this.now();
    const devices = [];
    const processes = [];
    const processListed = new Set<string>();
    const health: DeviceHealth[] = [];
    const backends: BackendStatus[] = [];
    for (const slot of this.slots) {
      const reading = this.superseded(slot, now) ? undefined : this.servable(slot, now);
      if (reading) {
        devices.push(...reading.devices);
        if (reading.processes) {
          processes.push(...reading.processes);
          for (const d of reading.devices) processListed.add(d.id.uuid);
        }
        for (const d of reading.devices) health.push({ id: d.id, up: 1 });
        for (const l of reading.lost) {
          const id = (l.pciBusId ? this.known.get(l.pciBusId) : undefined) ?? { vendor: slot.entry.vendor, uuid: '', pciBusId: l.pciBusId, index: l.index ?? '', model: '' };
          health.push({ id, up: 0, message: l.message });
        }
        const lostBus = new Set(reading.lost.map((l) => l.pciBusId));
        for (const m of slot.guard.missing(now, slot.entry.intervalMs * this.opts.graceIntervals)) {
          if (m.id.pciBusId !== '' && lostBus.has(m.id.pciBusId)) continue;
          health.push({ id: m.id, up: 0, message: `not listed by ${slot.entry.backend.name} since ${new Date(m.sinceMs).toISOString()}` });
        }
      }
      backends.push({
        name: slot.entry.backend.name,
        state: slot.state,
        lastAttemptMs: slot.lastAttemptMs,
        lastSuccessMs: slot.lastSuccessMs,
        lastDurationSeconds: slot.lastDurationSeconds,
        failures: { ...slot.failures },
        lastMessage: slot.lastMessage,
        toolStarts: slot.entry.backend.toolStarts(),
        devices: reading?.devices.length ?? 0,
        servingLastGood: slot.state === 'failed' && reading !== undefined,
        guard: slot.guard.counters(),
      });
    }
    devices.sort((a, b) => compareDevices(a.id, b.id));
    health.sort((a, b) => compareDevices(a.id, b.id));
    return { takenAtMs: now, devices, processes, processListed, health, backends };
  }
}
