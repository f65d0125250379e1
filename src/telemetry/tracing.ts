// Spans of the collection path: one per backend sample (a cycle) with a child
// per tool run. Only the OpenTelemetry API is used here: until the SDK is
// started (src/telemetry/otel.ts) every tracer is a no-op and nothing is
// recorded or sent.

import path from 'node:path';
import { SpanStatusCode, trace, type Span, type Tracer } from '@opentelemetry/api';
import type { SampleOutcome } from '../collect/poller.ts';
import { CommandNotFoundError, CommandTimeoutError, exitedWithCode, type CommandResult, type CommandRunner, type RunOptions } from '../exec/runner.ts';

const TRACER_NAME = 'accelerator-exporter';

/** The exporter's tracer. */
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
        else fail(span, 'exit_code', `${exitedWithCode(tool, r.exitCode)}: ${firstLine(r.stderr || r.stdout)}`);
        return r;
      } catch (err) {
        const type = err instanceof CommandTimeoutError ? 'timeout' : err instanceof CommandNotFoundError ? 'not_found' : 'spawn';
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
 * whole attempt so the tool runs and the poller's own log lines belong to it,
 * ending with the outcome the attempt returns.
 */
export function sampleSpans() {
  return (backend: string, attempt: () => Promise<SampleOutcome>): Promise<SampleOutcome> =>
    tracer().startActiveSpan(`collect ${backend}`, { attributes: { 'accelerator.backend': backend } }, async (span) => {
      try {
        const outcome = await attempt();
        span.setAttribute('accelerator.devices', outcome.devices);
        span.setAttribute('accelerator.duration_s', outcome.durationSeconds);
        if (outcome.state === 'failed') {
          fail(span, outcome.reason, outcome.message);
          span.setAttribute('accelerator.outcome', 'failed');
        } else {
          span.setAttribute('accelerator.outcome', outcome.state);
          if (outcome.state === 'no_data') span.setAttribute('accelerator.no_data_reason', outcome.message);
        }
        return outcome;
      } finally {
        span.end();
      }
    });
}
