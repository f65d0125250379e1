// AWS Neuron devices through neuron-monitor, a long-running process that
// prints one JSON report per period on stdout. It is started once (argument
// array, no shell); the newest complete report is kept and sample() returns
// it. When it exits it is restarted with exponential back-off; close() kills it.

import { spawn, type ChildProcess } from 'node:child_process';
import { exitedWithCode } from '../../exec/runner.ts';
import type { BackendReading } from '../../model.ts';
import { BackendError, NoDataError, type Backend, type BackendDeps } from '../backend.ts';
import { truncate, type ToolOptions } from '../tool-run.ts';
import { parseNeuronReport } from './neuron-monitor-report.ts';

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;
const MAX_LINE_BYTES = 16 * 1024 * 1024;

type Waiter = { resolve: () => void; reject: (err: Error) => void };

export class NeuronMonitorBackend implements Backend {
  readonly name: string;
  private readonly deps: BackendDeps;
  private readonly path: string;
  private child: ChildProcess | undefined;
  private starts = 0;
  private latest: unknown;
  private buffer = '';
  private lastStderr = '';
  /** Why no report is available, once that is known (absent binary, exit, garbage). */
  private failure: Error | undefined;
  private waiters: Waiter[] = [];
  private backoffMs = BACKOFF_MIN_MS;
  private restartTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(deps: BackendDeps, options: ToolOptions) {
    this.name = deps.name;
    this.deps = deps;
    this.path = options.path;
  }

  toolStarts(): number {
    return this.starts;
  }

  async sample(signal: AbortSignal): Promise<BackendReading> {
    if (!this.child && !this.restartTimer) {
      // Also after "not found": the binary may have been installed since.
      if (this.failure instanceof NoDataError) this.failure = undefined;
      this.start();
    }
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
      child.kill('SIGKILL');
      await exited;
    }
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
    this.buffer = '';
    const child = spawn(this.path, [], { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    this.child = child;
    child.stdout!.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => this.onStdout(chunk));
    child.stderr!.on('data', (chunk: string) => {
      const line = chunk.split(/\r?\n/).filter((l) => l.trim() !== '').pop();
      if (line) this.lastStderr = truncate(line.trim());
    });
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') {
        // Absent binary: no data, and nothing to restart.
        this.failure = new NoDataError(`neuron-monitor not found at ${this.path}`);
        this.child = undefined;
        this.settle(this.failure);
      } else {
        this.failure = new BackendError('spawn', `neuron-monitor: ${err.message}`);
        this.settle(this.failure);
      }
    });
    child.once('close', (code, sig) => {
      if (this.child !== child) return;
      this.child = undefined;
      if (this.failure instanceof NoDataError) return;
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

  private onStdout(chunk: string): void {
    this.buffer += chunk;
    if (this.buffer.length > MAX_LINE_BYTES) {
      this.buffer = '';
      this.reportGarbage('a line longer than 16 MiB');
      return;
    }
    let nl;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line === '') continue;
      let doc: unknown;
      try {
        doc = JSON.parse(line);
      } catch {
        this.reportGarbage(truncate(line));
        continue;
      }
      if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
        this.reportGarbage(truncate(line));
        continue;
      }
      this.latest = doc;
      this.failure = undefined;
      this.backoffMs = BACKOFF_MIN_MS;
      this.settle();
    }
  }

  private reportGarbage(what: string): void {
    // The previous good report stays; a sample waiting for its first one learns why none comes.
    if (this.latest === undefined) {
      this.failure = new BackendError('parse', `neuron-monitor printed something that is not a JSON report: ${what}`);
      this.settle(this.failure);
    }
  }
}
