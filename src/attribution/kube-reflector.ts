// One collection of the Kubernetes API mirrored in memory: list, then watch
// from the list's resourceVersion, relist when the watch breaks or expires.
// A failed attempt is retried after an exponential back-off with jitter
// (1 s doubling to 30 s, each delay drawn from its upper half), which resets
// only after a success: a list followed by a watch that stayed open or
// delivered events. The cache counts as synced only while its last list
// succeeded. The first failure is a warning; repeats are summed into one
// warning every 5 minutes, and recovery is logged once.

import type { Logger } from 'pino';
import { KubeApiError, type KubeLister, type WatchEvent } from './kube-http.ts';

type Obj = Record<string, any>;

export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  /** A number in [0, 1); Math.random unless a test fixes it. */
  readonly random?: () => number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1000, maxMs: 30_000 };

/** Exponential back-off with "equal jitter": the n-th delay is uniform in [d/2, d], d = min(max, initial * 2^n). */
export class Backoff {
  private readonly opts: BackoffOptions;
  private failures = 0;

  constructor(opts: BackoffOptions) {
    this.opts = opts;
  }

  next(): number {
    const d = Math.min(this.opts.maxMs, this.opts.initialMs * 2 ** Math.min(this.failures, 30));
    this.failures++;
    return d / 2 + (this.opts.random ?? Math.random)() * (d / 2);
  }

  reset(): void {
    this.failures = 0;
  }
}

const WARN_REPEAT_MS = 5 * 60_000;
/** A watch that stayed open this long, or delivered an event, counts as a success. */
const HEALTHY_WATCH_MS = 5000;
/** A resource the API serves at no version is looked for again this often. */
const NOT_SERVED_RECHECK_MS = 10 * 60_000;

export interface ReflectorOptions {
  /** For logs: pods, resourceslices, resourceclaims. */
  readonly name: string;
  /** Collection paths in order of preference (API versions); a 404 tries the next. */
  readonly paths: readonly string[];
  readonly fieldSelector?: string;
  readonly client: KubeLister;
  readonly log: Logger;
  readonly onChange: () => void;
  readonly backoff?: BackoffOptions;
  /** Keeps what the join reads of an object; the rest (managed fields, env, probes) is not held in memory. */
  readonly transform?: (o: Obj) => Obj;
  /** The server-side watch timeout, in seconds; drawn from [300, 600) like client-go when absent. */
  readonly watchTimeoutSeconds?: number;
}

class NotServed extends Error {}
class Expired extends Error {}

const key = (o: Obj) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

export class Reflector {
  private readonly opts: ReflectorOptions;
  private readonly backoff: Backoff;
  private readonly abort = new AbortController();
  private store = new Map<string, Obj>();
  private list: Obj[] = [];
  private synced = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private failuresSinceWarn = 0;
  private lastWarnMs = -Infinity;
  private failing = false;
  private loop: Promise<void> | undefined;

  constructor(opts: ReflectorOptions) {
    this.opts = opts;
    this.backoff = new Backoff(opts.backoff ?? DEFAULT_BACKOFF);
  }

  /** True while the last list succeeded (and no failure has followed it). */
  isSynced(): boolean {
    return this.synced;
  }

  items(): readonly Obj[] {
    return this.list;
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    clearTimeout(this.timer);
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    let pathIndex = 0;
    while (!this.stopped) {
      const path = this.opts.paths[pathIndex]!;
      let delay = 0;
      try {
        const listed = await this.listAt(path);
        this.replace(listed.items);
        this.setSynced(true);
        this.recovered();
        await this.watchFrom(path, listed.resourceVersion);
        // The server ended the watch (its timeout): relist and watch again at once.
      } catch (err) {
        if (this.stopped) break;
        if (err instanceof NotServed) {
          pathIndex = (pathIndex + 1) % this.opts.paths.length;
          if (pathIndex !== 0) continue;
          // No version served (a cluster without DRA): an empty collection, looked for again later.
          this.opts.log.info({ resource: this.opts.name, paths: this.opts.paths }, 'kubernetes API does not serve this resource; treating it as empty');
          this.replace([]);
          this.setSynced(true);
          delay = NOT_SERVED_RECHECK_MS;
        } else if (err instanceof Expired) {
          delay = 0;
        } else {
          this.setSynced(false);
          this.failed(err as Error);
          delay = this.backoff.next();
        }
      }
      if (delay > 0 && !this.stopped) await this.sleep(delay);
    }
  }

  private async listAt(path: string) {
    try {
      return await this.opts.client.list(path, this.opts.fieldSelector ? { fieldSelector: this.opts.fieldSelector } : {}, this.abort.signal);
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) throw new NotServed();
      throw err;
    }
  }

  private async watchFrom(path: string, resourceVersion: string): Promise<void> {
    const timeoutSeconds = this.opts.watchTimeoutSeconds ?? 300 + Math.floor(Math.random() * 300);
    const query: Record<string, string> = { resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds: String(timeoutSeconds) };
    if (this.opts.fieldSelector) query.fieldSelector = this.opts.fieldSelector;
    const opened = Date.now();
    let events = 0;
    try {
      await this.opts.client.watch(path, query, (ev) => {
        this.apply(ev);
        events++;
      }, this.abort.signal);
    } catch (err) {
      // 410 Gone: the resourceVersion is too old; relist (the normal protocol, not a failure).
      if (err instanceof Expired || (err instanceof KubeApiError && err.status === 410)) throw new Expired();
      if (events > 0 || Date.now() - opened >= HEALTHY_WATCH_MS) {
        // The watch was healthy before it broke: that was a success, so the next try is immediate.
        this.backoff.reset();
        throw new Expired();
      }
      throw err;
    }
    if (events > 0 || Date.now() - opened >= HEALTHY_WATCH_MS) this.backoff.reset();
    else throw new KubeApiError(0, `${path}: the watch ended at once`);
  }

  private apply(ev: WatchEvent): void {
    if (ev.type === 'BOOKMARK') return;
    if (ev.type === 'ERROR') {
      const code = Number(ev.object?.code ?? 0);
      if (code === 410) throw new Expired();
      throw new KubeApiError(code, `watch error: ${ev.object?.message ?? JSON.stringify(ev.object)}`);
    }
    if (ev.type === 'DELETED') this.store.delete(key(ev.object));
    else if (ev.type === 'ADDED' || ev.type === 'MODIFIED') this.store.set(key(ev.object), this.opts.transform ? this.opts.transform(ev.object) : ev.object);
    else return;
    this.list = [...this.store.values()];
    this.opts.onChange();
  }

  private replace(items: Obj[]): void {
    if (this.opts.transform) items = items.map(this.opts.transform);
    this.store = new Map(items.map((o) => [key(o), o]));
    this.list = items;
    this.opts.onChange();
  }

  private setSynced(v: boolean): void {
    if (this.synced === v) return;
    this.synced = v;
    this.opts.onChange();
  }

  private failed(err: Error): void {
    this.failing = true;
    this.failuresSinceWarn++;
    const now = Date.now();
    if (now - this.lastWarnMs < WARN_REPEAT_MS) return;
    this.opts.log.warn(
      { resource: this.opts.name, err: err.message, failures: this.failuresSinceWarn },
      'kubernetes API list/watch failed; keeping the last state, retrying with back-off',
    );
    this.lastWarnMs = now;
    this.failuresSinceWarn = 0;
  }

  private recovered(): void {
    if (!this.failing) return;
    this.failing = false;
    this.failuresSinceWarn = 0;
    this.lastWarnMs = -Infinity;
    this.opts.log.info({ resource: this.opts.name }, 'kubernetes API list/watch recovered');
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
      this.timer.unref();
    });
  }
}
