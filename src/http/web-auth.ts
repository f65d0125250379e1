// Applies a web configuration (web-config.ts) to the node:http(s) server: TLS
// options at creation and on reload, client-certificate checks, basic auth,
// response headers and the rate limit. /healthz and /readyz are exempt from
// all but the headers: the kubelet's probes carry neither a client
// certificate nor credentials, and those endpoints say nothing but a state.

import { createHash } from 'node:crypto';
import type http from 'node:http';
import type { Server as TlsServer, TLSSocket } from 'node:tls';
import type { ClientAuthType, TlsSettings, WebConfig, WebConfigWatcher } from './web-config.ts';

export const UNAUTHENTICATED_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

const VERIFYING: ReadonlySet<ClientAuthType> = new Set(['VerifyClientCertIfGiven', 'RequireAndVerifyClientCert']);
const REQUIRING: ReadonlySet<ClientAuthType> = new Set(['RequireAnyClientCert', 'RequireAndVerifyClientCert']);

/**
 * Options for `https.createServer`. The handshake itself refuses nothing
 * for lack of a certificate (rejectUnauthorized false); a certificate that is
 * presented but fails verification is refused right after the handshake
 * (secureConnection below), and a missing one is refused per request, so that
 * the probes still reach /healthz and /readyz.
 */
export function httpsOptions(tls: TlsSettings): Record<string, unknown> {
  return { ...tls.context, requestCert: tls.clientAuth !== 'NoClientCert', rejectUnauthorized: false };
}

function hasPeerCertificate(socket: TLSSocket): boolean {
  const peer = socket.getPeerCertificate();
  return peer !== null && Object.keys(peer).length > 0;
}

/** The toolkit's SAN test: DNS, IP, e-mail or URI entries, exact match. */
function sanAllowed(socket: TLSSocket, allowed: readonly string[]): boolean {
  const sans = (socket.getPeerCertificate().subjectaltname ?? '').split(', ').filter(Boolean);
  return sans.some((s) => {
    const value = s.slice(s.indexOf(':') + 1);
    return allowed.includes(value);
  });
}

// A bcrypt hash of random bytes: an unknown user costs the same time as a known one.
const DUMMY_HASH = '$2b$10$l/sYgkV8M79h6AIj0FqahuiJwXzh09f4QwWt3PfGaxr5YbZf0wir.';
const CACHE_SIZE = 100;

/** Verifies basic-auth credentials one at a time (bcrypt is CPU-bound), remembering recent answers. */
class BasicAuth {
  private readonly cache = new Map<string, boolean>();
  private queue: Promise<unknown> = Promise.resolve();

  clear(): void {
    this.cache.clear();
  }

  async check(users: ReadonlyMap<string, string>, header: string | undefined): Promise<boolean> {
    const m = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(header ?? '');
    if (!m) return false;
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    const user = decoded.slice(0, colon);
    const pass = decoded.slice(colon + 1);
    const hash = users.get(user);
    // The key is a digest: no password is kept in memory as a map key.
    const key = createHash('sha256').update(`${user}\0${hash ?? ''}\0${pass}`).digest('hex');
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    const run = this.queue.then(async () => {
      const { compare } = await import('bcryptjs');
      return compare(pass, hash ?? DUMMY_HASH);
    });
    this.queue = run.catch(() => undefined);
    const ok = hash !== undefined && (await run.catch(() => false));
    if (this.cache.size >= CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, ok);
    return ok;
  }
}

class TokenBucket {
  private readonly intervalMs: number;
  private readonly burst: number;
  private readonly now: () => number;
  private tokens: number;
  private last: number;
  constructor(intervalMs: number, burst: number, now: () => number) {
    this.intervalMs = intervalMs;
    this.burst = burst;
    this.now = now;
    this.tokens = burst;
    this.last = now();
  }
  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + (t - this.last) / this.intervalMs);
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

function deny(res: http.ServerResponse, code: 401 | 403 | 429, text: string): false {
  if (code === 401) res.setHeader('www-authenticate', 'Basic');
  const body = `${text}\n`;
  res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) }).end(body);
  return false;
}

/** What the server asks of the web configuration before routing a request. */
export interface WebGate {
  /** Sets the configured headers; resolves true when the request may go on, false once it has been answered. */
  admit(req: http.IncomingMessage, res: http.ServerResponse, path: string): Promise<boolean>;
}

/** Installs the TLS hooks; the server must have been created with httpsOptions() when the configuration has TLS. */
export function installWebConfig(httpServer: http.Server, watcher: WebConfigWatcher, now: () => number = Date.now): WebGate {
  const auth = new BasicAuth();
  let bucket: TokenBucket | undefined;
  const applied = (c: WebConfig) => {
    auth.clear();
    bucket = c.rateLimit ? new TokenBucket(c.rateLimit.intervalMs, c.rateLimit.burst, now) : undefined;
  };
  applied(watcher.current);

  if (watcher.current.tls) {
    const server = httpServer as unknown as TlsServer & { requestCert: boolean; rejectUnauthorized: boolean };
    server.prependListener('secureConnection', (socket: TLSSocket) => {
      const tls = watcher.current.tls;
      if (!tls || !hasPeerCertificate(socket)) return;
      if ((VERIFYING.has(tls.clientAuth) && !socket.authorized) || (tls.allowedSans && !sanAllowed(socket, tls.allowedSans))) socket.destroy();
    });
    watcher.onChange((c) => {
      if (!c.tls) return;
      server.setSecureContext(c.tls.context);
      // setSecureContext() leaves these alone; the server reads them at each new connection.
      server.requestCert = c.tls.clientAuth !== 'NoClientCert';
      server.rejectUnauthorized = false;
    });
  }
  watcher.onChange(applied);

  return {
    async admit(req, res, path) {
      const c = watcher.current;
      for (const [k, v] of Object.entries(c.headers)) res.setHeader(k, v);
      if (UNAUTHENTICATED_PATHS.has(path)) return true;
      if (bucket && !bucket.take()) return deny(res, 429, 'Too Many Requests');
      if (c.tls && REQUIRING.has(c.tls.clientAuth) && !hasPeerCertificate(req.socket as TLSSocket)) {
        return deny(res, 403, 'client certificate required');
      }
      if (c.users.size > 0 && !(await auth.check(c.users, req.headers.authorization))) return deny(res, 401, 'Unauthorized');
      return true;
    },
  };
}
