// Log lines written while a span is active (a collection cycle, a tool run)
// carry its trace and span ids, so a log line leads to its trace. Reads the
// API only: with tracing off there is never an active span and this adds nothing.
// A trace the sampler dropped is never sent, so its ids would lead nowhere.

import { isSpanContextValid, trace, TraceFlags } from '@opentelemetry/api';

/** A pino mixin. */
export function traceFields(): Record<string, string> {
  const sc = trace.getActiveSpan()?.spanContext();
  if (!sc || !isSpanContextValid(sc) || (sc.traceFlags & TraceFlags.SAMPLED) === 0) return {};
  return { trace_id: sc.traceId, span_id: sc.spanId };
}
