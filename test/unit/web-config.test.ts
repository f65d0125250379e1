// The web configuration file's parsing (exporter-toolkit's format, strict),
// and the HTTPS server it configures, in process: every client_auth_type,
// client_allowed_sans, inline certificates, versions, cipher suites and the
// rate limit, each against a real TLS client and certificates made here.

import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import type { Snapshot } from '../../src/collect/snapshot.ts';
import { buildServer, type HttpServer } from '../../src/http/server.ts';
import { loadWebConfig, parseGoDurationMs, parseWebConfig, WebConfigError, WebConfigWatcher } from '../../src/http/web-config.ts';
import { Exposition } from '../../src/metrics/exposition.ts';
import { makePki, type TestPki } from '../helpers/certs.ts';
import { httpsGet, type HttpsGetOptions } from '../helpers/https-get.ts';

describe('parseWebConfig', () => {
  it('an empty file is plain HTTP without users', () => {
    const c = parseWebConfig(null, '/etc/x');
    assert.deepEqual([c.tls, c.users.size, c.headers, c.rateLimit], [undefined, 0, {}, undefined]);
  });

  it('resolves file names against the file\'s directory and applies the toolkit\'s defaults', () => {
    const c = parseWebConfig({ tls_server_config: { cert_file: 'tls.crt', key_file: '/abs/tls.key' } }, '/etc/x');
    assert.deepEqual(c.tls, {
      certFile: '/etc/x/tls.crt', keyFile: '/abs/tls.key', cert: undefined, key: undefined, clientCaFile: undefined, clientCa: undefined,
      clientAuth: 'NoClientCert', allowedSans: undefined, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', ciphers: undefined, honorCipherOrder: true, ecdhCurve: undefined,
    });
  });

  it('maps Go cipher suite and curve names to OpenSSL\'s; TLS 1.3 suite names restrict nothing', () => {
    const c = parseWebConfig({
      tls_server_config: {
        cert_file: 'c', key_file: 'k', min_version: 'TLS12', max_version: 'TLS12', prefer_server_cipher_suites: false,
        cipher_suites: ['TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', 'TLS_AES_128_GCM_SHA256', 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256'],
        curve_preferences: ['X25519', 'CurveP384'],
      },
    }, '/');
    assert.equal(c.tls!.ciphers, 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305');
    assert.equal(c.tls!.ecdhCurve, 'X25519:P-384');
    assert.deepEqual([c.tls!.minVersion, c.tls!.maxVersion, c.tls!.honorCipherOrder], ['TLSv1.2', 'TLSv1.2', false]);
    assert.equal(parseWebConfig({ tls_server_config: { cert_file: 'c', key_file: 'k', cipher_suites: ['TLS_AES_256_GCM_SHA384'] } }, '/').tls!.ciphers, undefined);
  });

  it('reads rate_limit, headers and the older RequireClientCert spelling', () => {
    const c = parseWebConfig({
      tls_server_config: { cert_file: 'c', key_file: 'k', client_auth_type: 'RequireClientCert' },
      http_server_config: { http2: false, headers: { 'X-Frame-Options': 'deny', 'Content-Security-Policy': '' } },
      rate_limit: { interval: '1m30s', burst: 5 },
    }, '/');
    assert.equal(c.tls!.clientAuth, 'RequireAnyClientCert');
    assert.deepEqual(c.headers, { 'X-Frame-Options': 'deny' });
    assert.deepEqual(c.rateLimit, { intervalMs: 90_000, burst: 5 });
    assert.equal(parseWebConfig({ rate_limit: { interval: '0', burst: 3 } }, '/').rateLimit, undefined, 'interval 0 disables');
  });

  for (const [doc, message] of [
    [{ tls_server_config: { cert_file: 'c', key_file: 'k', cipher_suites: ['TLS_RSA_WITH_RC4_128_SHA'] } }, 'tls_server_config.cipher_suites: unknown cipher "TLS_RSA_WITH_RC4_128_SHA"'],
    [{ tls_server_config: { cert_file: 'c', key_file: 'k', curve_preferences: ['P256'] } }, 'tls_server_config.curve_preferences: unknown curve "P256"'],
    [{ tls_server_config: { cert_file: 'c', key_file: 'k', min_version: 'TLS13', max_version: 'TLS12' } }, 'tls_server_config: min_version is above max_version'],
    [{ tls_server_config: { cert_file: 'c', key_file: 'k', min_version: 'SSL3' } }, 'tls_server_config.min_version: unknown TLS version "SSL3", expected one of TLS10, TLS11, TLS12, TLS13'],
    [{ tls_server_config: { cert_file: 'c', cert: 'PEM', key_file: 'k' } }, 'tls_server_config: cert and cert_file are exclusive'],
    [{ tls_server_config: { cert_file: 'c', key_file: 'k', client_ca_file: 'ca' } }, 'tls_server_config: client CA configured without a client_auth_type'],
    [{ tls_server_config: { client_auth_type: 'RequireAndVerifyClientCert' } }, 'tls_server_config: missing one of cert or cert_file'],
    [{ basic_auth_users: { 'a:b': '$2b$04$VTF82Cj9VzXBaG7XTr9HyO6HlTzq.k9AAola8Y9/M4nG/kq98rHPe' } }, 'basic_auth_users: user name "a:b" contains ":"'],
    [{ basic_auth_users: { a: '$2b$03$VTF82Cj9VzXBaG7XTr9HyO6HlTzq.k9AAola8Y9/M4nG/kq98rHPe' } }, 'basic_auth_users.a: bcrypt cost 3 outside 4-31'],
    [{ basic_auth_users: ['a'] }, 'basic_auth_users: expected a mapping of user names to bcrypt hashes'],
    [{ http_server_config: { headers: { 'X-Powered-By': 'me' } } }, 'http_server_config.headers: unknown field "X-Powered-By"'],
    [{ http_server_config: { http2: 'yes' } }, 'http_server_config.http2: expected true or false'],
    [{ rate_limit: { interval: 'often', burst: 1 } }, 'rate_limit.interval: expected a duration such as 100ms or 1s (0 disables)'],
    [{ rate_limit: { interval: '1s', burst: -1 } }, 'rate_limit.burst: expected a whole number'],
    [{ web: {} }, 'web config: unknown field "web"'],
    ['just text', 'web config: expected a mapping'],
  ] as const) {
    it(`refuses: ${message}`, () => {
      assert.throws(() => parseWebConfig(doc, '/'), (err: Error) => err instanceof WebConfigError && err.message === message);
    });
  }

  it('parses Go durations', () => {
    assert.deepEqual(['0', '100ms', '1s', '1m30s', '1.5h', '250us', '', '1', '1d', 's'].map(parseGoDurationMs), [0, 100, 1000, 90_000, 5_400_000, 0.25, undefined, undefined, undefined, undefined]);
  });
});

describe('HTTPS server from a web config', () => {
  let dir: string;
  let pki: TestPki;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'ae-web-unit-'));
    pki = makePki(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** buildServer() on a loopback port with this web config; returns a client bound to it. */
  async function serve(yaml: string): Promise<{ app: HttpServer; web: WebConfigWatcher; get: (p: string, o?: Omit<HttpsGetOptions, 'ca'> & { ca?: string }) => ReturnType<typeof httpsGet> }> {
    const file = path.join(dir, `web-${Math.random().toString(36).slice(2)}.yml`);
    writeFileSync(file, yaml);
    const web = new WebConfigWatcher(file, await loadWebConfig(file), pino({ level: 'silent' }));
    const snapshot = { backends: [], devices: [], takenAtMs: Date.now() } as unknown as Snapshot;
    const app = buildServer({ exposition: new Exposition([], []), snapshot: () => snapshot, settled: () => true, staleAfterMs: 60_000, web });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const port = (app.server.address() as { port: number }).port;
    return { app, web, get: (p, o = {}) => httpsGet(port, p, { ca: pki.caCert, ...o }) };
  }
  const tls = (extra = '') => `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n${extra}`;
  const good = () => ({ cert: pki.clientCert, key: pki.clientKey });
  const bad = () => ({ cert: pki.badClientCert, key: pki.badClientKey });
  const CUT = /ECONNRESET|socket hang up|EPIPE/;

  it('VerifyClientCertIfGiven: none or a good certificate pass, a bad one is cut off', async () => {
    const { app, get } = await serve(tls('  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.crt\n'));
    try {
      assert.equal((await get('/metrics')).status, 200);
      assert.equal((await get('/metrics', good())).status, 200);
      await assert.rejects(get('/metrics', bad()), CUT);
    } finally {
      await app.close();
    }
  });

  it('RequestClientCert asks but checks nothing; RequireAnyClientCert wants one, verified or not', async () => {
    const request = await serve(tls('  client_auth_type: RequestClientCert\n'));
    const requireAny = await serve(tls('  client_auth_type: RequireAnyClientCert\n'));
    try {
      assert.equal((await request.get('/metrics')).status, 200);
      assert.equal((await request.get('/metrics', bad())).status, 200);
      assert.equal((await requireAny.get('/metrics')).status, 403);
      assert.equal((await requireAny.get('/healthz')).status, 200);
      assert.equal((await requireAny.get('/metrics', bad())).status, 200);
    } finally {
      await request.app.close();
      await requireAny.app.close();
    }
  });

  it('client_allowed_sans: a verified certificate without an allowed SAN is cut off', async () => {
    const allowed = await serve(tls('  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  client_allowed_sans: [prometheus.monitoring.svc]\n'));
    const other = await serve(tls('  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  client_allowed_sans: [vmagent.monitoring.svc]\n'));
    try {
      assert.equal((await allowed.get('/metrics', good())).status, 200);
      await assert.rejects(other.get('/metrics', good()), CUT);
    } finally {
      await allowed.app.close();
      await other.app.close();
    }
  });

  it('inline cert and key serve like the files', async () => {
    const indent = (f: string) => readFileSync(f, 'utf8').trim().split('\n').map((l) => `    ${l}`).join('\n');
    const { app, get } = await serve(`tls_server_config:\n  cert: |\n${indent(pki.serverCert)}\n  key: |\n${indent(pki.serverKey)}\n`);
    try {
      assert.equal((await get('/metrics')).status, 200);
    } finally {
      await app.close();
    }
  });

  it('min_version TLS13 refuses a TLS 1.2 client; cipher_suites limits TLS 1.2 to the listed suites', async () => {
    const v13 = await serve(tls('  min_version: TLS13\n'));
    const suites = await serve(tls('  max_version: TLS12\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n'));
    try {
      await assert.rejects(v13.get('/metrics', { maxVersion: 'TLSv1.2' }), /version|protocol/i);
      assert.equal((await v13.get('/metrics')).status, 200);
      assert.equal((await suites.get('/metrics', { ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' })).status, 200);
      await assert.rejects(suites.get('/metrics', { ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' }), /handshake|cipher/i);
    } finally {
      await v13.app.close();
      await suites.app.close();
    }
  });

  it('a renewed server certificate and key, same file names, serve new connections after a reload', async () => {
    const crt = path.join(dir, 'renew.crt');
    const key = path.join(dir, 'renew.key');
    copyFileSync(pki.serverCert, crt);
    copyFileSync(pki.serverKey, key);
    const { app, web, get } = await serve('tls_server_config:\n  cert_file: renew.crt\n  key_file: renew.key\n');
    try {
      assert.equal((await get('/metrics')).status, 200);
      await assert.rejects(get('/metrics', { ca: pki.otherCaCert }), /certificate/);
      copyFileSync(pki.otherServerKey, key);
      copyFileSync(pki.otherServerCert, crt);
      await web.reload();
      assert.equal((await get('/metrics', { ca: pki.otherCaCert })).status, 200);
      await assert.rejects(get('/metrics'), /certificate/);
      // A half-written renewal (new key, old certificate) is refused; the last good pair still serves.
      copyFileSync(pki.serverKey, key);
      await web.reload();
      assert.equal((await get('/metrics', { ca: pki.otherCaCert })).status, 200);
    } finally {
      await app.close();
    }
  });

  it('rate_limit answers 429 beyond the burst; the probes are not counted', async () => {
    const { app, get } = await serve(`${tls()}rate_limit:\n  interval: 1h\n  burst: 2\n`);
    try {
      const codes = [];
      for (let i = 0; i < 3; i++) codes.push((await get('/metrics')).status);
      assert.deepEqual(codes, [200, 200, 429]);
      assert.equal((await get('/healthz')).status, 200);
      assert.equal((await get('/readyz')).status, 200);
    } finally {
      await app.close();
    }
  });
});
