// AWS Neuron devices through neuron-monitor, a long-running process that
// prints one JSON report per period on stdout. It is started once (argument
// array, no shell, a process group of its own); the newest complete report is
// kept and sample() returns it. When it exits it is restarted with exponential
// back-off; close() kills it.
//
// Liveness: a monitor that stays alive but stops reporting (silent, writing
// only to stderr, printing junk) is worth nothing. Once no good report has
// arrived within the liveness bound, its values are dropped, the sample fails,
// and the monitor's process group is killed, which restarts it; the bound runs
// from each start too, so one that hangs after a restart is killed again.

import { spawn, type ChildProcess } from 'node:child_process';
import { MAX_REPORT_LINE_BYTES } from '../../bounds.ts';
import { killGroup, trackGroup } from '../../exec/process-group.ts';
import { exitedWithCode } from '../../exec/runner.ts';
import type { BackendReading } from '../../model.ts';
import { BackendError, NoDataError, type Backend, type BackendDeps } from '../backend.ts';
import { LineSplitter } from '../line-splitter.ts';
import { truncate, type ToolOptions } from '../tool-run.ts';
import { parseNeuronReport } from './neuron-monitor-report.ts';

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;
/** Reports a monitor may miss at its own observed period before it counts as dead. */
const MISSED_PERIODS = 3;

type Waiter = { resolve: () => void; reject: (err: Error) => void };

export class NeuronMonitorBackend implements Backend {
  readonly name: string;
  private readonly deps: BackendDeps;
  private readonly path: string;
  private readonly now: () => number;
  private child: ChildProcess | undefined;
  private starts = 0;
  private latest: unknown;
  private lines: LineSplitter | undefined;
  private lastStderr = '';
  /** When the running monitor last showed it works: its start, then each good report. */
  private lastProgressMs = 0;
  private lastReportMs: number | undefined;
  /** Time between the last two good reports: the monitor's own period, as observed. */
  private periodMs: number | undefined;
  /** Why no report is available, once that is known (absent binary, exit, garbage). */
  private failure: Error | undefined;
  private waiters: Waiter[] = [];
  private backoffMs = BACKOFF_MIN_MS;
  private restartTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(deps: BackendDeps, options: ToolOptions, now: () => number = Date.now) {
    this.name = deps.name;
    this.deps = deps;
    this.path = options.path;
    this.now = now;
  }

  toolStarts(): number {
    return this.starts;
  }

  /**
   * How long a running monitor may go without a good report: two collection
   * intervals and a sample's bound, or three of its own periods when that is longer.
   */
  livenessMs(): number {
    const interval = this.deps.intervalMs ?? this.deps.timeoutMs;
    return Math.max(2 * interval + this.deps.timeoutMs, MISSED_PERIODS * (this.periodMs ?? 0));
  }

  async sample(signal: AbortSignal): Promise<BackendReading> {
    if (!this.child && !this.restartTimer) {
      // Also after "not found" or a failed start: the binary may have been installed or fixed since.
      if (this.failure instanceof NoDataError || (this.failure instanceof BackendError && this.failure.reason === 'spawn')) this.failure = undefined;
      this.start();
    }
    this.checkLiveness();
    if (this.latest === undefined) await this.nextReport(signal);
    const reading = parseNeuronReport(this.latest);
    if (reading.errors.length > 0) this.deps.log.debug({ errors: reading.errors.slice(0, 3) }, 'neuron-monitor report sections with errors');
    if (reading.devices.length === 0) throw new NoDataError('neuron-monitor reports no Neuron devices');
    return { devices: reading.devices, processes: reading.processes, lost: [] };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      if (child.pid !== undefined) killGroup(child.pid);
      await exited;
    }
  }

  private checkLiveness(): void {
    const child = this.child;
    if (!child || child.pid === undefined) return;
    const silentMs = this.now() - this.lastProgressMs;
    if (silentMs <= this.livenessMs()) return;
    const said = this.lastStderr ? `; it said: ${this.lastStderr}` : '';
    const err = new BackendError('timeout', `neuron-monitor has printed no report for ${Math.round(silentMs / 1000)} s; killed, restarting${said}`);
    this.deps.log.warn({ silentMs, livenessMs: this.livenessMs(), stderr: this.lastStderr }, 'neuron-monitor alive but not reporting; killing it');
    // The exit handler restarts it; its values go now.
    this.latest = undefined;
    this.lastProgressMs = this.now();
    killGroup(child.pid);
    throw err;
  }

  private nextReport(signal: AbortSignal): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (err) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      const onAbort = () => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        const why = this.lastStderr ? `; it said: ${this.lastStderr}` : '';
        reject(new BackendError('timeout', `no neuron-monitor report arrived in time${why}`));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  private settle(err?: Error): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) err ? w.reject(err) : w.resolve();
  }

  private start(): void {
    this.restartTimer = undefined;
    if (this.closed) return;
    this.starts++;
    this.lastStderr = '';
    this.lastProgressMs = this.now();
    this.lastReportMs = undefined;
    const lines = new LineSplitter(MAX_REPORT_LINE_BYTES);
    this.lines = lines;
    const child = spawn(this.path, [], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, windowsHide: true });
    this.child = child;
    if (child.pid !== undefined) trackGroup(child.pid);
    child.stdout!.on('data', (chunk: Buffer) => {
      if (this.child !== child) return;
      for (const item of lines.push(chunk)) {
        if (item.tooLong) this.onJunk(`a line longer than ${MAX_REPORT_LINE_BYTES} bytes`, 'too_large');
        else this.onLine(item.line);
      }
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      const line = chunk.split(/\r?\n/).filter((l) => l.trim() !== '').pop();
      if (line && this.child === child) this.lastStderr = truncate(line.trim());
    });
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (this.child !== child) return;
      // The process never started: no exit to wait for, no group to kill, no restart.
      // The next sample tries again (the binary may have been installed or fixed).
      this.child = undefined;
      this.latest = undefined;
      this.failure =
        err.code === 'ENOENT'
          ? new NoDataError(`neuron-monitor not found at ${this.path}`)
          : new BackendError('spawn', `neuron-monitor could not be started: ${err.message}`);
      this.settle(this.failure);
    });
    // 'exit', not 'close': a child the monitor forked may hold its stdout open for its own lifetime.
    child.once('exit', (code, sig) => {
      if (child.pid !== undefined) killGroup(child.pid);
      child.stdout!.destroy();
      child.stderr!.destroy();
      if (this.child !== child) return;
      this.child = undefined;
      const how = sig ? `neuron-monitor was killed by ${sig}` : exitedWithCode('neuron-monitor', code);
      // A report from a dead monitor goes stale: say so until a new one arrives.
      this.latest = undefined;
      this.failure = new BackendError('exit_code', `${how}${this.lastStderr ? `: ${this.lastStderr}` : ''}`);
      this.settle(this.failure);
      if (this.closed) return;
      this.deps.log.warn({ code, signal: sig, stderr: this.lastStderr, restartInMs: this.backoffMs }, 'neuron-monitor exited; restarting');
      this.restartTimer = setTimeout(() => this.start(), this.backoffMs);
      this.restartTimer.unref();
      this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
    });
  }

  private onLine(line: string): void {
    if (line.trim() === '') return;
    let doc: unknown;
    try {
      doc = JSON.parse(line);
    } catch {
      return this.onJunk(truncate(line.trim()));
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return this.onJunk(truncate(line.trim()));
    const now = this.now();
    if (this.lastReportMs !== undefined) this.periodMs = now - this.lastReportMs;
    this.lastReportMs = now;
    this.lastProgressMs = now;
    this.latest = doc;
    this.failure = undefined;
    this.backoffMs = BACKOFF_MIN_MS;
    this.settle();
  }

  /**
   * Something that is not a report: the last report is no longer what the
   * monitor says, so it is dropped and samples fail until a good one comes;
   * the liveness bound restarts a monitor that keeps printing junk.
   */
  private onJunk(what: string, reason: 'parse' | 'too_large' = 'parse'): void {
    this.latest = undefined;
    this.failure = new BackendError(reason, `neuron-monitor printed something that is not a JSON report: ${what}`);
    this.settle(this.failure);
  }
}
