// Starts a real Prometheus (Debian's /usr/bin/prometheus) on a loopback port
// with a throw-away storage directory, and queries it over its HTTP API.
// Used by the observability lab (test/helpers/observability-lab.ts), so by the
// observability end-to-end tests and `npm run demo`.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { waitFor } from './exporter.ts';

export const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? 'prometheus';

export function prometheusAvailable(): boolean {
  const r = spawnSync(PROMETHEUS_BIN, ['--version'], { encoding: 'utf8' });
  return !r.error && r.status === 0;
}

export interface QueryResult {
  readonly resultType: string;
  readonly result: { metric: Record<string, string>; value: [number, string] }[] | [number, string];
}

export interface RunningPrometheus {
  readonly url: string;
  readonly proc: ChildProcess;
  query(expr: string): Promise<QueryResult>;
  api<T>(pathname: string): Promise<T>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const srv = createNetServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  srv.close();
  await once(srv, 'close');
  return port;
}

export interface PrometheusOptions {
  /** An existing TSDB directory (backfilled blocks) to serve; kept on stop. */
  readonly dataDir?: string;
  readonly args?: readonly string[];
  readonly readyTimeoutMs?: number;
}

export async function startPrometheus(config: string, opts: PrometheusOptions = {}): Promise<RunningPrometheus> {
  const dir = mkdtempSync(path.join(tmpdir(), 'accelerator-prometheus-'));
  const configFile = path.join(dir, 'prometheus.yml');
  writeFileSync(configFile, config);
  const port = await freePort();
  const proc = spawn(
    PROMETHEUS_BIN,
    [`--config.file=${configFile}`, `--storage.tsdb.path=${opts.dataDir ?? path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn', ...(opts.args ?? [])],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const url = `http://127.0.0.1:${port}`;
  const exited = once(proc, 'exit');
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      'Prometheus to be ready',
      async () => {
        if (proc.exitCode !== null) throw new Error(`prometheus exited with ${proc.exitCode}: ${stderr}`);
        return (await fetch(`${url}/-/ready`)).ok;
      },
      opts.readyTimeoutMs ?? 20_000,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  const api = async <T>(pathname: string): Promise<T> => {
    const r = await fetch(url + pathname);
    const body = (await r.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`${pathname}: ${body.error}`);
    return body.data;
  };
  return {
    url,
    proc,
    api,
    query: (expr) => api<QueryResult>(`/api/v1/query?query=${encodeURIComponent(expr)}`),
    stop,
  };
}

/** Number of series (or 1 for a scalar) a query result holds. */
export function resultSize(r: QueryResult): number {
  if (r.resultType === 'scalar' || r.resultType === 'string') return 1;
  return (r.result as unknown[]).length;
}
