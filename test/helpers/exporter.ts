// Starts the real exporter process (bin/accelerator-exporter.js) the way a
// user does, on a loopback port chosen by the kernel, and scrapes it over HTTP.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { BACKEND_FACTORIES } from '../../src/backends/registry.ts';
import { groupFlags } from '../../src/options.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'bin/accelerator-exporter.js');
export const FAKE_TOOLS = path.join(ROOT, 'test/fake-tools');
export const FIXTURES = path.join(ROOT, 'test/fixtures');

export interface RunningExporter {
  readonly url: string;
  readonly proc: ChildProcess;
  /** Log lines so far, parsed JSON. */
  readonly logs: Record<string, unknown>[];
  scrape(accept?: string): Promise<{ status: number; contentType: string; body: string }>;
  get(pathname: string): Promise<{ status: number; body: string }>;
  stop(): Promise<number | null>;
}

/**
 * A test enables the backends whose tool path it points at (`--<tool>.path=`);
 * every other backend is switched off through its environment variable, so a
 * golden file does not change when a backend is added, and a real vendor tool
 * installed on the test machine never leaks into a test. Flags still win.
 */
export function isolatingEnv(args: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const f of BACKEND_FACTORIES) {
    const pointed = groupFlags(f.options).some((flag) => args.some((a) => a.startsWith(`--${flag.name}=`)));
    // Pointing at a tool also enables a backend that is off by default (rocm-smi).
    env[`ACCELERATOR_EXPORTER_BACKEND_${f.name.toUpperCase().replace(/[.-]/g, '_')}`] = String(pointed);
  }
  return env;
}

export async function startExporter(args: readonly string[], env: Record<string, string> = {}): Promise<RunningExporter> {
  const proc = spawn(process.execPath, [BIN, '--web.listen-address=127.0.0.1:0', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...isolatingEnv(args), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  let buf = '';
  const listening = new Promise<number>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const rec = JSON.parse(line) as Record<string, unknown>;
          logs.push(rec);
          if (rec.msg === 'listening') resolve((rec.address as { port: number }).port);
        } catch {
          logs.push({ raw: line });
        }
      }
    });
    proc.once('exit', (code) => reject(new Error(`exporter exited with ${code} before listening: ${stderr}`)));
    // Guards against a hang only: a machine shared by many test runs can take long to start Node.
    setTimeout(() => reject(new Error(`exporter did not listen within 60s: ${stderr}`)), 60_000).unref();
  });
  let port: number;
  try {
    port = await listening;
  } catch (err) {
    // Never leave an exporter running behind a failed start.
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    throw err;
  }
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    proc,
    logs,
    async scrape(accept) {
      const r = await fetch(`${url}/metrics`, { headers: accept ? { accept } : {}, signal: AbortSignal.timeout(15_000) });
      return { status: r.status, contentType: r.headers.get('content-type') ?? '', body: await r.text() };
    },
    async get(pathname) {
      const r = await fetch(url + pathname, { signal: AbortSignal.timeout(15_000) });
      return { status: r.status, body: await r.text() };
    },
    async stop() {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill('SIGTERM');
      const [code] = (await once(proc, 'exit')) as [number | null];
      return code;
    },
  };
}

/** Polls until the predicate holds; the deadline only guards against a hang, it asserts no timing. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, deadlineMs = 60_000): Promise<T> {
  const end = Date.now() + deadlineMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** Value of the first sample line matching name and label matchers, or undefined. */
export function sampleValue(body: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of body.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}
