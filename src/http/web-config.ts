// --web.config.file: the web configuration file of Prometheus exporter-toolkit
// (docs/web-configuration.md there): TLS server settings, client certificates,
// bcrypt basic-auth users, response headers and a rate limit. Parsing is strict
// like the toolkit's (an unknown key is an error). The file and every file it
// names are re-read when their bytes change; a bad version is refused and the
// last good one kept.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { Logger } from 'pino';

export class WebConfigError extends Error {
  override name = 'WebConfigError';
}

export const CLIENT_AUTH_TYPES = ['NoClientCert', 'RequestClientCert', 'RequireAnyClientCert', 'VerifyClientCertIfGiven', 'RequireAndVerifyClientCert'] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

export interface TlsSettings {
  readonly clientAuth: ClientAuthType;
  /** For the server's secure context: key, cert, client CA, versions, ciphers, curves. Holds the private key: never log it. */
  readonly context: SecureContextOptions;
  /** A client certificate must carry one of these SANs (DNS, IP, e-mail or URI), when set. */
  readonly allowedSans?: readonly string[];
}

export interface RateLimit {
  readonly intervalMs: number;
  readonly burst: number;
}

export interface WebConfig {
  /** Undefined: plain HTTP. */
  readonly tls?: TlsSettings;
  /** User name to bcrypt hash; empty: no basic auth. */
  readonly users: ReadonlyMap<string, string>;
  /** Extra response headers (the toolkit's allowed set). */
  readonly headers: Readonly<Record<string, string>>;
  readonly rateLimit?: RateLimit;
}

/** A loaded configuration and the bytes of every file it was built from. */
export interface LoadedWebConfig {
  readonly config: WebConfig;
  readonly sources: ReadonlyMap<string, Buffer>;
}

const TLS_VERSIONS: Record<string, SecureContextOptions['minVersion']> = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' };
const VERSION_ORDER = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

// Go's tls.CipherSuites() names and their OpenSSL equivalents. The three TLS 1.3
// suites are accepted and, as in Go, do not restrict TLS 1.3.
const CIPHERS: Record<string, string | null> = {
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_AES_128_GCM_SHA256: null,
  TLS_AES_256_GCM_SHA384: null,
  TLS_CHACHA20_POLY1305_SHA256: null,
};

const CURVES: Record<string, string> = { CurveP256: 'P-256', CurveP384: 'P-384', CurveP521: 'P-521', X25519: 'X25519' };

// The toolkit's configurable headers; an empty list means any value.
const HEADERS: Record<string, readonly string[]> = {
  'Strict-Transport-Security': [],
  'X-Content-Type-Options': ['nosniff'],
  'X-Frame-Options': ['deny', 'sameorigin'],
  'X-XSS-Protection': [],
  'Content-Security-Policy': [],
};

const BCRYPT_HASH = /^\$2[abxy]?\$(\d{2})\$[./A-Za-z0-9]{53}$/;

type Obj = Record<string, unknown>;

function section(v: unknown, where: string, keys: readonly string[]): Obj {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new WebConfigError(`${where}: expected a mapping`);
  for (const k of Object.keys(v)) if (!keys.includes(k)) throw new WebConfigError(`${where}: unknown field "${k}"`);
  return v as Obj;
}

function str(o: Obj, key: string, where: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new WebConfigError(`${where}.${key}: expected a string`);
  return v;
}

function strList(o: Obj, key: string, where: string): string[] | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new WebConfigError(`${where}.${key}: expected a list of strings`);
  return v as string[];
}

/** Go's time.ParseDuration for the units a rate limit uses: "0", "100ms", "1m30s". */
export function parseGoDurationMs(v: string): number | undefined {
  if (v === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let m;
  let end = 0;
  while ((m = re.exec(v))) {
    total += Number(m[1]) * unit[m[2]!]!;
    end = re.lastIndex;
  }
  return end === v.length && v.length > 0 ? total : undefined;
}

/** What the file says, with file names resolved against its directory; nothing read yet. */
export interface WebConfigSpec {
  readonly tls?: {
    readonly certFile?: string;
    readonly keyFile?: string;
    readonly cert?: string;
    readonly key?: string;
    readonly clientCaFile?: string;
    readonly clientCa?: string;
    readonly clientAuth: ClientAuthType;
    readonly allowedSans?: readonly string[];
    readonly minVersion: NonNullable<SecureContextOptions['minVersion']>;
    readonly maxVersion: NonNullable<SecureContextOptions['maxVersion']>;
    readonly ciphers?: string;
    readonly honorCipherOrder: boolean;
    readonly ecdhCurve?: string;
  };
  readonly users: ReadonlyMap<string, string>;
  readonly headers: Readonly<Record<string, string>>;
  readonly rateLimit?: RateLimit;
}

/** Validates a parsed YAML document; `dir` is the configuration file's directory. */
export function parseWebConfig(doc: unknown, dir: string): WebConfigSpec {
  const top = section(doc, 'web config', ['tls_server_config', 'http_server_config', 'basic_auth_users', 'rate_limit']);
  const t = section(top.tls_server_config, 'tls_server_config', [
    'cert', 'key', 'client_ca', 'cert_file', 'key_file', 'client_auth_type', 'client_ca_file', 'client_allowed_sans',
    'min_version', 'max_version', 'cipher_suites', 'prefer_server_cipher_suites', 'curve_preferences',
  ]);
  const w = 'tls_server_config';
  const file = (k: string) => {
    const v = str(t, k, w);
    return v === undefined || v === '' ? undefined : path.resolve(dir, v);
  };
  const certFile = file('cert_file');
  const keyFile = file('key_file');
  const clientCaFile = file('client_ca_file');
  const cert = str(t, 'cert', w) || undefined;
  const key = str(t, 'key', w) || undefined;
  const clientCa = str(t, 'client_ca', w) || undefined;
  const clientAuthRaw = str(t, 'client_auth_type', w) || undefined;
  // The toolkit's test: any of these turns TLS on.
  const enabled = [certFile, keyFile, cert, key, clientCaFile, clientCa, clientAuthRaw].some((v) => v !== undefined);
  let tls: WebConfigSpec['tls'];
  if (enabled) {
    if (!certFile && !cert) throw new WebConfigError(`${w}: missing one of cert or cert_file`);
    if (!keyFile && !key) throw new WebConfigError(`${w}: missing one of key or key_file`);
    if (certFile && cert) throw new WebConfigError(`${w}: cert and cert_file are exclusive`);
    if (keyFile && key) throw new WebConfigError(`${w}: key and key_file are exclusive`);
    if (clientCaFile && clientCa) throw new WebConfigError(`${w}: client_ca and client_ca_file are exclusive`);
    // "RequireClientCert" is the toolkit's older spelling of RequireAnyClientCert.
    const clientAuth = (clientAuthRaw === 'RequireClientCert' ? 'RequireAnyClientCert' : clientAuthRaw ?? 'NoClientCert') as ClientAuthType;
    if (!CLIENT_AUTH_TYPES.includes(clientAuth)) throw new WebConfigError(`${w}.client_auth_type: invalid value "${clientAuthRaw}", expected one of ${CLIENT_AUTH_TYPES.join(', ')}`);
    const hasCa = clientCaFile !== undefined || clientCa !== undefined;
    if (hasCa && clientAuth === 'NoClientCert') throw new WebConfigError(`${w}: client CA configured without a client_auth_type`);
    // Stricter than the toolkit, which then falls back to the system roots: a
    // public CA must not vouch for scrapers.
    if (!hasCa && (clientAuth === 'VerifyClientCertIfGiven' || clientAuth === 'RequireAndVerifyClientCert')) {
      throw new WebConfigError(`${w}: client_auth_type ${clientAuth} needs client_ca_file or client_ca`);
    }
    const version = (k: string, dflt: string) => {
      const v = str(t, k, w) ?? dflt;
      const mapped = TLS_VERSIONS[v];
      if (!mapped) throw new WebConfigError(`${w}.${k}: unknown TLS version "${v}", expected one of ${Object.keys(TLS_VERSIONS).join(', ')}`);
      return mapped;
    };
    const minVersion = version('min_version', 'TLS12');
    const maxVersion = version('max_version', 'TLS13');
    if (VERSION_ORDER.indexOf(minVersion) > VERSION_ORDER.indexOf(maxVersion)) throw new WebConfigError(`${w}: min_version is above max_version`);
    const suites = strList(t, 'cipher_suites', w);
    let ciphers: string | undefined;
    if (suites && suites.length > 0) {
      const names: string[] = [];
      for (const s of suites) {
        if (!(s in CIPHERS)) throw new WebConfigError(`${w}.cipher_suites: unknown cipher "${s}"`);
        if (CIPHERS[s]) names.push(CIPHERS[s]!);
      }
      if (names.length > 0) ciphers = names.join(':');
    }
    const curves = strList(t, 'curve_preferences', w);
    if (curves) for (const c of curves) if (!(c in CURVES)) throw new WebConfigError(`${w}.curve_preferences: unknown curve "${c}"`);
    const prefer = t.prefer_server_cipher_suites;
    if (prefer !== undefined && prefer !== null && typeof prefer !== 'boolean') throw new WebConfigError(`${w}.prefer_server_cipher_suites: expected true or false`);
    const sans = strList(t, 'client_allowed_sans', w);
    tls = {
      certFile, keyFile, cert, key, clientCaFile, clientCa, clientAuth,
      allowedSans: sans && sans.length > 0 ? sans : undefined,
      minVersion, maxVersion, ciphers,
      honorCipherOrder: prefer !== false,
      ecdhCurve: curves && curves.length > 0 ? curves.map((c) => CURVES[c]).join(':') : undefined,
    };
  }

  const h = section(top.http_server_config, 'http_server_config', ['http2', 'headers']);
  if (h.http2 !== undefined && h.http2 !== null && typeof h.http2 !== 'boolean') throw new WebConfigError('http_server_config.http2: expected true or false');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(section(h.headers, 'http_server_config.headers', Object.keys(HEADERS)))) {
    if (typeof v !== 'string') throw new WebConfigError(`http_server_config.headers.${k}: expected a string`);
    const allowed = HEADERS[k]!;
    if (allowed.length > 0 && !allowed.includes(v)) throw new WebConfigError(`http_server_config.headers.${k}: invalid value "${v}", expected one of ${allowed.join(', ')}`);
    if (v !== '') headers[k] = v;
  }

  const users = new Map<string, string>();
  const u = top.basic_auth_users;
  if (u !== undefined && u !== null) {
    if (typeof u !== 'object' || Array.isArray(u)) throw new WebConfigError('basic_auth_users: expected a mapping of user names to bcrypt hashes');
    for (const [name, hash] of Object.entries(u)) {
      // Never echo the hash: it is a secret.
      if (typeof hash !== 'string') throw new WebConfigError(`basic_auth_users.${name}: expected a bcrypt hash string`);
      const m = BCRYPT_HASH.exec(hash);
      if (!m) throw new WebConfigError(`basic_auth_users.${name}: not a bcrypt hash ($2a$, $2b$ or $2y$, cost, 53 characters)`);
      const cost = Number(m[1]);
      if (cost < 4 || cost > 31) throw new WebConfigError(`basic_auth_users.${name}: bcrypt cost ${cost} outside 4-31`);
      if (name.includes(':')) throw new WebConfigError(`basic_auth_users: user name "${name}" contains ":"`);
      users.set(name, hash);
    }
  }

  let rateLimit: RateLimit | undefined;
  const r = section(top.rate_limit, 'rate_limit', ['interval', 'burst']);
  if (r.interval !== undefined || r.burst !== undefined) {
    const intervalMs = typeof r.interval === 'string' ? parseGoDurationMs(r.interval) : r.interval === 0 ? 0 : undefined;
    if (intervalMs === undefined) throw new WebConfigError('rate_limit.interval: expected a duration such as 100ms or 1s (0 disables)');
    const burst = r.burst ?? 0;
    if (typeof burst !== 'number' || !Number.isInteger(burst) || burst < 0) throw new WebConfigError('rate_limit.burst: expected a whole number');
    if (intervalMs > 0) rateLimit = { intervalMs, burst };
  }
  return { tls, users, headers, rateLimit };
}

async function readSource(file: string, what: string, sources: Map<string, Buffer>): Promise<Buffer> {
  try {
    const b = await readFile(file);
    sources.set(file, b);
    return b;
  } catch (err) {
    throw new WebConfigError(`cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** The first line of a YAML error, without the source excerpt that follows it (it may hold a secret). */
function yamlMessage(err: Error): string {
  return err.message.split('\n')[0]!.replace(/:$/, '');
}

/** Reads and validates the file and every file it names; throws WebConfigError. */
export async function loadWebConfig(file: string): Promise<LoadedWebConfig> {
  const sources = new Map<string, Buffer>();
  const abs = path.resolve(file);
  const text = (await readSource(abs, 'web config file', sources)).toString('utf8');
  const { parse } = await import('yaml');
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new WebConfigError(`invalid YAML: ${yamlMessage(err as Error)}`);
  }
  const spec = parseWebConfig(doc, path.dirname(abs));
  let tls: TlsSettings | undefined;
  if (spec.tls) {
    const s = spec.tls;
    const cert = s.certFile ? await readSource(s.certFile, 'cert_file', sources) : Buffer.from(s.cert!);
    const key = s.keyFile ? await readSource(s.keyFile, 'key_file', sources) : Buffer.from(s.key!);
    const ca = s.clientCaFile ? await readSource(s.clientCaFile, 'client_ca_file', sources) : s.clientCa ? Buffer.from(s.clientCa) : undefined;
    const context: SecureContextOptions = {
      cert,
      key,
      ...(ca ? { ca } : {}),
      minVersion: s.minVersion,
      maxVersion: s.maxVersion,
      honorCipherOrder: s.honorCipherOrder,
      ...(s.ciphers ? { ciphers: s.ciphers } : {}),
      ...(s.ecdhCurve ? { ecdhCurve: s.ecdhCurve } : {}),
    };
    try {
      // Loads the pair and the CA as the server will: a mismatched key or a bad PEM fails here.
      createSecureContext(context);
    } catch (err) {
      throw new WebConfigError(`TLS: ${(err as Error).message}`);
    }
    tls = { clientAuth: s.clientAuth, context, allowedSans: s.allowedSans };
  }
  return { config: { tls, users: spec.users, headers: spec.headers, rateLimit: spec.rateLimit }, sources };
}

function sameSources(a: ReadonlyMap<string, Buffer>, b: ReadonlyMap<string, Buffer>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (!b.get(k)?.equals(v)) return false;
  return true;
}

/**
 * Holds the current configuration and re-reads its files every `intervalMs`
 * (and on reload()): a change is applied when the new version is valid, and
 * refused with one warning per bad version otherwise. Turning TLS on or off
 * needs a restart (the listening socket is either TLS or not).
 */
export class WebConfigWatcher {
  private loaded: LoadedWebConfig;
  private badSources: ReadonlyMap<string, Buffer> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private readonly listeners: ((c: WebConfig) => void)[] = [];
  readonly file: string;
  private readonly log: Logger;
  private readonly intervalMs: number;

  constructor(file: string, initial: LoadedWebConfig, log: Logger, intervalMs = 1000) {
    this.file = file;
    this.loaded = initial;
    this.log = log;
    this.intervalMs = intervalMs;
  }

  get current(): WebConfig {
    return this.loaded.config;
  }

  onChange(fn: (c: WebConfig) => void): void {
    this.listeners.push(fn);
  }

  start(): void {
    this.timer ??= setInterval(() => void this.check(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Checks now; resolves once any change is applied or refused. */
  reload(): Promise<void> {
    return this.check();
  }

  private check(): Promise<void> {
    this.checking ??= this.checkOnce().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async checkOnce(): Promise<void> {
    // Cheap test first: the same bytes in every file means nothing to do.
    const now = new Map<string, Buffer>();
    for (const f of this.loaded.sources.keys()) {
      try {
        now.set(f, await readFile(f));
      } catch {
        now.set(f, Buffer.alloc(0));
      }
    }
    if (sameSources(now, this.loaded.sources)) return;
    let next: LoadedWebConfig;
    try {
      next = await loadWebConfig(this.file);
      if (Boolean(next.config.tls) !== Boolean(this.loaded.config.tls)) {
        throw new WebConfigError(`turning TLS ${next.config.tls ? 'on' : 'off'} needs a restart`);
      }
    } catch (err) {
      // Any failure (not only a WebConfigError) keeps the last good config: a reload never ends the process.
      if (!this.badSources || !sameSources(now, this.badSources)) {
        this.log.warn({ file: this.file, err: (err as Error).message }, 'web config reload failed; keeping the last good one');
      }
      this.badSources = now;
      return;
    }
    this.loaded = next;
    this.badSources = undefined;
    this.log.info({ file: this.file, tls: Boolean(next.config.tls), users: next.config.users.size }, 'web config reloaded');
    for (const fn of this.listeners) fn(next.config);
  }
}
