// The few Kubernetes API calls attribution makes, over node:http(s): a paged
// list of a collection and a watch (newline-delimited JSON events). Nothing
// else of a general client is needed, and node:http needs no WebAssembly
// (Node's fetch does), so the exporter can run with --jitless.

import http from 'node:http';
import https from 'node:https';
import type { KubeAccess } from './kube-access.ts';

type Obj = Record<string, any>;

/** Bounds on what one answer may hold: a page of a list, one watch event, an error body. */
export const MAX_PAGE_BYTES = 64 * 1024 * 1024;
export const MAX_EVENT_BYTES = 16 * 1024 * 1024;
const MAX_ERROR_BYTES = 64 * 1024;
const PAGE_SIZE = 500;
const LIST_TIMEOUT_MS = 60_000;

/** The API answered with an error status (its Status message when it sent one), or the connection failed. */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  /** HTTP status, or 0 when there was no answer. */
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export interface ListResult {
  readonly items: Obj[];
  readonly resourceVersion: string;
}

export interface WatchEvent {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  readonly object: Obj;
}

/** What the reflector needs of a client; tests substitute their own. */
export interface KubeLister {
  list(path: string, query: Readonly<Record<string, string>>, signal: AbortSignal): Promise<ListResult>;
  /** Resolves when the server ends the watch; rejects on an error status or a broken connection. */
  watch(path: string, query: Readonly<Record<string, string>>, onEvent: (e: WatchEvent) => void, signal: AbortSignal): Promise<void>;
}

export class KubeHttpClient implements KubeLister {
  private readonly access: KubeAccess;
  private readonly agent: http.Agent;
  private readonly secure: boolean;
  private readonly userAgent: string;

  constructor(access: KubeAccess, userAgent = 'accelerator-exporter') {
    this.access = access;
    this.secure = access.server.startsWith('https:');
    this.userAgent = userAgent;
    // One kept-alive connection pool for the lists; each watch holds its own socket while open.
    this.agent = this.secure
      ? new https.Agent({ keepAlive: true, ca: access.ca, cert: access.cert, key: access.key, rejectUnauthorized: !access.insecureSkipTlsVerify, servername: access.tlsServerName })
      : new http.Agent({ keepAlive: true });
  }

  close(): void {
    this.agent.destroy();
  }

  async list(path: string, query: Readonly<Record<string, string>>, signal: AbortSignal): Promise<ListResult> {
    const items: Obj[] = [];
    let cont = '';
    for (;;) {
      const q: Record<string, string> = { ...query, limit: String(PAGE_SIZE) };
      if (cont) q.continue = cont;
      const res = await this.request(path, q, AbortSignal.any([signal, AbortSignal.timeout(LIST_TIMEOUT_MS)]));
      const body = await readBody(res, MAX_PAGE_BYTES);
      let page: Obj;
      try {
        page = JSON.parse(body) as Obj;
      } catch {
        throw new KubeApiError(res.statusCode ?? 0, `${path}: the list answer is not JSON`);
      }
      for (const it of (page.items ?? []) as Obj[]) items.push(it);
      cont = String(page.metadata?.continue ?? '');
      if (!cont) return { items, resourceVersion: String(page.metadata?.resourceVersion ?? '') };
    }
  }

  async watch(path: string, query: Readonly<Record<string, string>>, onEvent: (e: WatchEvent) => void, signal: AbortSignal): Promise<void> {
    const res = await this.request(path, { ...query, watch: 'true' }, signal);
    // The server closes a watch after timeoutSeconds; a silent socket longer than that is dead.
    const idleMs = (Number(query.timeoutSeconds ?? 600) + 60) * 1000;
    res.socket.setTimeout(idleMs, () => res.destroy(new KubeApiError(0, `${path}: watch silent for ${idleMs / 1000}s`)));
    res.setEncoding('utf8');
    let buf = '';
    await new Promise<void>((resolve, reject) => {
      res.on('data', (chunk: string) => {
        buf += chunk;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (!line.trim()) continue;
          let ev: WatchEvent;
          try {
            ev = JSON.parse(line) as WatchEvent;
          } catch {
            res.destroy(new KubeApiError(0, `${path}: a watch event is not JSON`));
            return;
          }
          try {
            onEvent(ev);
          } catch (err) {
            res.destroy(err as Error);
            return;
          }
        }
        if (buf.length > MAX_EVENT_BYTES) res.destroy(new KubeApiError(0, `${path}: a watch event exceeds ${MAX_EVENT_BYTES} bytes`));
      });
      res.on('end', resolve);
      res.on('error', reject);
      res.on('close', () => (res.complete ? resolve() : reject(new KubeApiError(0, `${path}: watch connection closed`))));
    });
  }

  /** Resolves with a 2xx response; any other status rejects with the API's own message. */
  private request(path: string, query: Readonly<Record<string, string>>, signal: AbortSignal): Promise<http.IncomingMessage> {
    const url = new URL(this.access.server + path);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': this.userAgent };
    const auth = this.access.authorization();
    if (auth) headers.authorization = auth;
    const mod = this.secure ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.get(url, { agent: this.agent, headers, signal }, (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) return resolve(res);
        readBody(res, MAX_ERROR_BYTES).then(
          (body) => reject(new KubeApiError(status, `${path}: ${status} ${statusMessage(body) ?? res.statusMessage ?? ''}`.trim())),
          () => reject(new KubeApiError(status, `${path}: ${status} ${res.statusMessage ?? ''}`.trim())),
        );
      });
      req.on('error', (err) => reject(err instanceof KubeApiError ? err : new KubeApiError(0, `${path}: ${err.message}`)));
    });
  }
}

function statusMessage(body: string): string | undefined {
  try {
    const s = JSON.parse(body) as Obj;
    return typeof s.message === 'string' ? s.message : undefined;
  } catch {
    return body.trim().slice(0, 200) || undefined;
  }
}

function readBody(res: http.IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) res.destroy(new KubeApiError(res.statusCode ?? 0, `answer exceeds ${max} bytes`));
      else chunks.push(c);
    });
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}
