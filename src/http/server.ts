// HTTP edge: /metrics renders the last snapshot (never a tool run),
// /healthz says the process is alive, /readyz says the data is usable.

import http from 'node:http';
import https from 'node:https';
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

/** What the composition root needs of the HTTP server. */
export interface HttpServer {
  readonly server: http.Server;
  listen(at: { host: string; port: number }): Promise<void>;
  close(): Promise<void>;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

function text(res: http.ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) }).end(body);
}

export function buildServer(deps: ServerDeps): HttpServer {
  const now = deps.now ?? Date.now;
  const routes: Record<string, Handler> = {
    '/metrics': (req, res) => {
      const format = negotiate(req.headers.accept);
      const { chunks, done } = deps.exposition.render(format, now());
      // The page's buffer is reused once no response writes it any more.
      res.once('close', done);
      let length = 0;
      for (const c of chunks) length += c.length;
      // The cached snapshot bytes are written as they are: concatenating them with the
      // tail would allocate and copy the whole page on every scrape. (A HEAD writes no body.)
      res.writeHead(200, { 'content-type': CONTENT_TYPES[format], 'content-length': length });
      for (const c of chunks) res.write(c);
      res.end();
    },
    '/healthz': (_req, res) => text(res, 200, 'text/plain; charset=utf-8', 'ok\n'),
    '/readyz': (_req, res) => {
      const r = readiness(deps.snapshot(), deps.settled(), deps.staleAfterMs, now());
      text(res, r.ready ? 200 : 503, 'text/plain; charset=utf-8', `${r.ready ? 'ready' : 'not ready'}: ${r.reason}\n`);
    },
    '/': (_req, res) =>
      text(
        res,
        200,
        'text/html; charset=utf-8',
        '<html><head><title>accelerator-exporter</title></head><body><h1>accelerator-exporter</h1>' +
          '<p><a href="/metrics">/metrics</a> <a href="/healthz">/healthz</a> <a href="/readyz">/readyz</a></p></body></html>\n',
      ),
  };
  // node:http, not a framework: four fixed routes need no router, and the process is a
  // node agent on every GPU node, where each MiB counts (docs/architecture.md, Dependencies).
  // Nothing is logged per request.
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const q = req.url?.indexOf('?') ?? -1;
    const path = q >= 0 ? req.url!.slice(0, q) : (req.url ?? '');
    if (gate && !(await gate.admit(req, res, path))) return;
    const route = routes[path];
    if (!route) return text(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return text(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    }
    route(req, res);
  };
  const tls = deps.web?.current.tls;
  const server: http.Server = tls ? https.createServer(httpsOptions(tls)) : http.createServer();
  const gate = deps.web ? installWebConfig(server, deps.web, now) : undefined;
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    handle(req, res).catch(() => {
      // Nothing of the error is echoed: its text is ours, not the client's business.
      if (!res.headersSent) text(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.destroy();
    });
  });
  return {
    server,
    listen: ({ host, port }) =>
      new Promise((resolve, reject) => {
        const fail = (err: Error) => reject(err);
        server.once('error', fail);
        server.listen({ host, port }, () => {
          server.off('error', fail);
          resolve();
        });
      }),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
