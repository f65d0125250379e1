import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { traceFields } from './telemetry/log-correlation.ts';

/** One line per event: pino's JSON, or the same fields as logfmt for people reading a terminal. */
export function createLogger(level: string, format: 'json' | 'logfmt', out: NodeJS.WritableStream = process.stdout): Logger {
  const opts = { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label: string) => ({ level: label }) }, mixin: traceFields };
  if (format === 'json') return pino(opts, pino.destination({ dest: out === process.stdout ? 1 : (out as any).fd ?? 1, sync: true }));
  return pino(opts, logfmtStream(out));
}

function logfmtStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line) out.write(toLogfmt(JSON.parse(line) as Record<string, unknown>) + '\n');
      }
      done();
    },
  });
}

export function toLogfmt(rec: Record<string, unknown>): string {
  const { time, level, msg, ...rest } = rec;
  const parts = [`time=${String(time)}`, `level=${String(level)}`, `msg=${quote(String(msg ?? ''))}`];
  for (const [k, v] of Object.entries(rest)) parts.push(`${k}=${quote(typeof v === 'string' ? v : JSON.stringify(v))}`);
  return parts.join(' ');
}

function quote(v: string): string {
  return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
}
