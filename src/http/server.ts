// HTTP edge: /metrics renders the last snapshot (never a tool run),
// /healthz says the process is alive, /readyz says the data is usable.

import Fastify, { type FastifyInstance } from 'fastify';
import type { Snapshot } from '../collect/snapshot.ts';
import type { Exposition } from '../metrics/exposition.ts';
import { CONTENT_TYPES, negotiate } from '../metrics/serialize.ts';
import { httpsOptions, installWebConfig } from './web-auth.ts';
import type { WebConfigWatcher } from './web-config.ts';

export interface ServerDeps {
  readonly exposition: Exposition;
  readonly snapshot: () => Snapshot;
  /** Every backend has finished a first attempt. */
  readonly settled: () => boolean;
  /** A snapshot older than this is stale. */
  readonly staleAfterMs: number;
  readonly now?: () => number;
  /** --web.config.file: TLS, client certificates, basic auth (web-auth.ts). */
  readonly web?: WebConfigWatcher;
}

export interface Readiness {
  readonly ready: boolean;
  readonly reason: string;
}

/**
 * Ready once a first sample is done (some backend read devices, or every
 * backend reported no data) and the snapshot is not stale.
 */
export function readiness(s: Snapshot, settled: boolean, staleAfterMs: number, now: number): Readiness {
  if (!settled) return { ready: false, reason: 'first sample not finished' };
  const anyOk = s.backends.some((b) => b.state === 'ok');
  const allNoData = s.backends.every((b) => b.state === 'no_data');
  if (!anyOk && !allNoData) {
    // Names and states only: a tool's path or error text is for the log, not for anyone who can reach the port.
    const failed = s.backends.filter((b) => b.state === 'failed').map((b) => b.name);
    return { ready: false, reason: `no backend has a good sample (failed: ${failed.join(', ') || 'none'})` };
  }
  const age = now - s.takenAtMs;
  if (age > staleAfterMs) return { ready: false, reason: `snapshot is ${Math.round(age / 1000)}s old` };
  return { ready: true, reason: anyOk ? 'ok' : 'no accelerator tool found; serving self metrics only' };
}

export function buildServer(deps: ServerDeps): FastifyInstance {
  const now = deps.now ?? Date.now;
  // Request logging off: nothing is logged per scrape.
  const tls = deps.web?.current.tls;
  const app = Fastify({ logger: false, ...(tls ? { https: httpsOptions(tls) } : {}) }) as unknown as FastifyInstance;
  if (deps.web) installWebConfig(app, deps.web, now);
  // Neither echoes the request: no path, no parser message.
  app.setNotFoundHandler((_req, reply) => {
    reply.code(404).header('content-type', 'text/plain; charset=utf-8').send('not found\n');
  });
  app.setErrorHandler((err: { statusCode?: number }, _req, reply) => {
    const code = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    reply.code(code).header('content-type', 'text/plain; charset=utf-8').send(code === 500 ? 'internal error\n' : 'bad request\n');
  });

  app.get('/metrics', async (req, reply) => {
    const format = negotiate(req.headers.accept);
    reply.header('content-type', CONTENT_TYPES[format]);
    return deps.exposition.render(format, now());
  });
  app.get('/healthz', async (_req, reply) => {
    reply.header('content-type', 'text/plain; charset=utf-8');
    return 'ok\n';
  });
  app.get('/readyz', async (_req, reply) => {
    const r = readiness(deps.snapshot(), deps.settled(), deps.staleAfterMs, now());
    reply.code(r.ready ? 200 : 503).header('content-type', 'text/plain; charset=utf-8');
    return `${r.ready ? 'ready' : 'not ready'}: ${r.reason}\n`;
  });
  app.get('/', async (_req, reply) => {
    reply.header('content-type', 'text/html; charset=utf-8');
    return '<html><head><title>accelerator-exporter</title></head><body><h1>accelerator-exporter</h1>' +
      '<p><a href="/metrics">/metrics</a> <a href="/healthz">/healthz</a> <a href="/readyz">/readyz</a></p></body></html>\n';
  });
  return app;
}
