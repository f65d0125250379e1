// Spans of the collection path: one per backend sample (a cycle) with a child
// per tool run. Only the OpenTelemetry API is used here: until the SDK is
// started (src/telemetry/otel.ts) every tracer is a no-op and nothing is
// recorded or sent.

import path from 'node:path';
import { SpanStatusCode, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import type { BackendStatus } from '../collect/snapshot.ts';
import { CommandNotFoundError, CommandOutputTooLargeError, CommandTimeoutError, type CommandResult, type CommandRunner, type RunOptions } from '../exec/runner.ts';

export const TRACER_NAME = 'accelerator-exporter';

/** The exporter's tracer, for code that wants its own spans (the attribution refresh, for one). */
export function tracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function fail(span: Span, type: string, text: string): void {
  span.setAttributes({ 'accelerator.outcome': type, 'error.type': type, 'error.message': text });
  span.setStatus({ code: SpanStatusCode.ERROR, message: text });
}

/**
 * Runs `fn` inside an active span named `name`, so tool runs and log lines
 * within it are its children. A thrown error marks the span failed and is
 * rethrown. For example, an attribution refresh:
 * `inSpan('attribution refresh', { 'accelerator.source': 'kubelet' }, () => refresh())`.
 */
export function inSpan<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T> {
  return tracer().startActiveSpan(name, { attributes }, async (span) => {
    const t0 = performance.now();
    try {
      const r = await fn(span);
      if (span.isRecording()) span.setAttribute('accelerator.outcome', 'ok');
      return r;
    } catch (err) {
      fail(span, err instanceof Error ? err.name : 'error', message(err));
      throw err;
    } finally {
      span.setAttribute('accelerator.duration_s', (performance.now() - t0) / 1000);
      span.end();
    }
  });
}

/** A CommandRunner that records each tool run as a span: tool, arguments, exit code, outcome, duration. */
export class TracingRunner implements CommandRunner {
  private readonly inner: CommandRunner;

  constructor(inner: CommandRunner) {
    this.inner = inner;
  }

  starts(): number {
    return this.inner.starts();
  }

  run(file: string, args: readonly string[], opts: RunOptions): Promise<CommandResult> {
    const tool = path.basename(file);
    const attributes = { 'accelerator.tool': tool, 'process.executable.path': file, 'process.command_args': [file, ...args] };
    return tracer().startActiveSpan(`exec ${tool}`, { attributes }, async (span) => {
      const t0 = performance.now();
      try {
        const r = await this.inner.run(file, args, opts);
        span.setAttribute('process.exit.code', r.exitCode);
        if (r.exitCode === 0) span.setAttribute('accelerator.outcome', 'ok');
        else fail(span, 'exit_code', `${tool} exited with code ${r.exitCode}: ${firstLine(r.stderr || r.stdout)}`);
        return r;
      } catch (err) {
        const type =
          err instanceof CommandTimeoutError ? 'timeout'
          : err instanceof CommandNotFoundError ? 'not_found'
          : err instanceof CommandOutputTooLargeError ? 'too_large'
          : 'spawn';
        fail(span, type, message(err));
        throw err;
      } finally {
        span.setAttribute('accelerator.duration_s', (performance.now() - t0) / 1000);
        span.end();
      }
    });
  }
}

function firstLine(text: string): string {
  return text.split(/\r?\n/).find((l) => l.trim() !== '')?.trim().slice(0, 200) ?? '(no output)';
}

/**
 * The poller's `aroundSample` hook: a span per backend sample, active for the
 * whole attempt so the tool runs and the poller's own log lines belong to it.
 * The outcome is read from the backend status the attempt published.
 */
export function sampleSpans(status: (backend: string) => BackendStatus | undefined) {
  return (backend: string, attempt: () => Promise<void>): Promise<void> =>
    tracer().startActiveSpan(`collect ${backend}`, { attributes: { 'accelerator.backend': backend } }, async (span) => {
      const before = status(backend)?.failures;
      try {
        await attempt();
      } finally {
        const after = status(backend);
        if (after) {
          span.setAttribute('accelerator.devices', after.devices);
          if (after.lastDurationSeconds !== undefined) span.setAttribute('accelerator.duration_s', after.lastDurationSeconds);
          if (after.state === 'failed') {
            const reason = Object.entries(after.failures).find(([r, n]) => n > (before?.[r as keyof typeof before] ?? 0))?.[0] ?? 'failed';
            fail(span, reason, after.lastMessage ?? '');
            span.setAttribute('accelerator.outcome', 'failed');
          } else {
            span.setAttribute('accelerator.outcome', after.state);
            if (after.state === 'no_data' && after.lastMessage) span.setAttribute('accelerator.no_data_reason', after.lastMessage);
          }
        }
        span.end();
      }
    });
}
