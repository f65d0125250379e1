// --web.config.file end to end: the real exporter process serving HTTPS with
// certificates made for the test, scraped by node:https as a real TLS client
// (and by the real Prometheus where installed), with client certificates,
// bcrypt basic auth, reloads and bad files.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hashSync } from 'bcryptjs';
import { makePki, type TestPki } from '../helpers/certs.ts';
import { httpsGet, type HttpsGetOptions } from '../helpers/https-get.ts';
import { BIN, ROOT, startExporter, waitFor, type RunningExporter } from '../helpers/exporter.ts';
import { prometheusAvailable, startPrometheus } from '../helpers/prometheus.ts';

let dir: string;
let pki: TestPki;

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ae-web-config-'));
  pki = makePki(dir);
});
after(() => rmSync(dir, { recursive: true, force: true }));

type ClientOptions = Omit<HttpsGetOptions, 'ca'> & { ca?: string };

/** One HTTPS GET on a fresh connection, verifying the server against the test CA unless told otherwise. */
const get = (port: number, pathname: string, o: ClientOptions = {}) => httpsGet(port, pathname, { ...o, ca: o.ca ?? pki.caCert });

const portOf = (e: RunningExporter) => Number(new URL(e.url).port);

function writeConfig(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

const tlsBlock = (extra = '') => `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n${extra}`;

describe('--web.config.file', () => {
  it('TLS only: HTTPS serves /metrics with the configured headers; plain HTTP gets no answer', async () => {
    const file = writeConfig('tls.yml', `${tlsBlock()}http_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n`);
    const e = await startExporter([`--web.config.file=${file}`]);
    try {
      assert.equal(e.logs.find((l) => l.msg === 'listening')?.tls, true);
      const r = await get(portOf(e), '/metrics');
      assert.equal(r.status, 200);
      assert.match(r.body, /^accelerator_exporter_build_info\{/m);
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      // A client trusting another CA refuses the server.
      await assert.rejects(get(portOf(e), '/metrics', { ca: path.join(dir, 'other-ca.crt') }), /certificate/);
      await assert.rejects(fetch(`${e.url}/metrics`, { signal: AbortSignal.timeout(10_000) }));
    } finally {
      assert.equal(await e.stop(), 0);
    }
  });

  it('RequireAndVerifyClientCert: a good client certificate scrapes, one from another CA is cut off, none gets 403 except on the probes', async () => {
    const file = writeConfig('mtls.yml', tlsBlock('  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n'));
    const e = await startExporter([`--web.config.file=${file}`]);
    try {
      const port = portOf(e);
      const good = await get(port, '/metrics', { cert: pki.clientCert, key: pki.clientKey });
      assert.equal(good.status, 200);
      assert.match(good.body, /^accelerator_exporter_build_info\{/m);
      await assert.rejects(get(port, '/metrics', { cert: pki.badClientCert, key: pki.badClientKey }), /ECONNRESET|socket hang up|EPIPE/);
      await assert.rejects(get(port, '/healthz', { cert: pki.badClientCert, key: pki.badClientKey }), /ECONNRESET|socket hang up|EPIPE/);
      const none = await get(port, '/metrics');
      assert.deepEqual([none.status, none.body], [403, 'client certificate required\n']);
      assert.deepEqual([(await get(port, '/healthz')).status, (await get(port, '/healthz')).body], [200, 'ok\n']);
      assert.equal((await get(port, '/readyz')).status, 200);
    } finally {
      assert.equal(await e.stop(), 0);
    }
  });

  it('basic auth: the right password scrapes; a wrong one, an unknown user or none get 401 with WWW-Authenticate', async () => {
    const file = writeConfig('auth.yml', `${tlsBlock()}basic_auth_users:\n  prometheus: ${hashSync('s3cret', 4)}\n`);
    const e = await startExporter([`--web.config.file=${file}`]);
    try {
      const port = portOf(e);
      assert.equal((await get(port, '/metrics', { user: 'prometheus', password: 's3cret' })).status, 200);
      for (const creds of [{ user: 'prometheus', password: 'wrong' }, { user: 'nobody', password: 's3cret' }, {}]) {
        const r = await get(port, '/metrics', creds);
        assert.deepEqual([r.status, r.headers['www-authenticate'], r.body], [401, 'Basic', 'Unauthorized\n'], JSON.stringify(creds));
      }
      // Cached answers stay right: the good password again, then the wrong one again.
      assert.equal((await get(port, '/metrics', { user: 'prometheus', password: 's3cret' })).status, 200);
      assert.equal((await get(port, '/metrics', { user: 'prometheus', password: 'wrong' })).status, 401);
      assert.equal((await get(port, '/')).status, 401);
      assert.equal((await get(port, '/healthz')).status, 200);
      assert.equal((await get(port, '/readyz')).status, 200);
    } finally {
      assert.equal(await e.stop(), 0);
    }
  });

  it('reloads on change: a new user is accepted, a bad edit keeps the last good config with one warning, SIGHUP re-reads', async () => {
    const file = writeConfig('reload.yml', `${tlsBlock()}basic_auth_users:\n  alice: ${hashSync('a', 4)}\n`);
    const e = await startExporter([`--web.config.file=${file}`]);
    try {
      const port = portOf(e);
      assert.equal((await get(port, '/metrics', { user: 'bob', password: 'b' })).status, 401);
      writeFileSync(file, `${tlsBlock()}basic_auth_users:\n  alice: ${hashSync('a', 4)}\n  bob: ${hashSync('b', 4)}\n`);
      await waitFor('bob accepted after the reload', async () => (await get(port, '/metrics', { user: 'bob', password: 'b' })).status === 200);
      assert.ok(e.logs.some((l) => l.msg === 'web config reloaded' && l.users === 2));

      writeFileSync(file, `${tlsBlock()}basic_auth_users:\n  bob: not-a-hash\n`);
      const warning = await waitFor('a warning for the bad edit', async () => e.logs.find((l) => l.msg === 'web config reload failed; keeping the last good one'));
      assert.equal(warning.err, 'basic_auth_users.bob: not a bcrypt hash ($2a$, $2b$ or $2y$, cost, 53 characters)');
      assert.equal((await get(port, '/metrics', { user: 'bob', password: 'b' })).status, 200, 'last good config kept');
      await new Promise((r) => setTimeout(r, 2500));
      assert.equal(e.logs.filter((l) => l.msg === 'web config reload failed; keeping the last good one').length, 1, 'one warning per bad version');

      // Turning TLS off is refused too: the socket is HTTPS for the process's life.
      writeFileSync(file, `basic_auth_users:\n  carol: ${hashSync('c', 4)}\n`);
      e.proc.kill('SIGHUP');
      await waitFor('the TLS switch refused', async () => e.logs.find((l) => l.err === 'turning TLS off needs a restart'));
      assert.ok(e.logs.some((l) => l.msg === 'reloading the web config'));
      assert.equal((await get(port, '/metrics', { user: 'bob', password: 'b' })).status, 200);
      assert.equal(e.proc.exitCode, null, 'SIGHUP does not end the process');
    } finally {
      assert.equal(await e.stop(), 0);
    }
  });

  it('reloads certificates: a new client CA and client_auth_type apply to new connections', async () => {
    const file = writeConfig('rotate.yml', tlsBlock());
    const e = await startExporter([`--web.config.file=${file}`]);
    try {
      const port = portOf(e);
      assert.equal((await get(port, '/metrics')).status, 200);
      writeFileSync(file, tlsBlock('  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n'));
      await waitFor('client certificates required', async () => (await get(port, '/metrics')).status === 403);
      assert.equal((await get(port, '/metrics', { cert: pki.clientCert, key: pki.clientKey })).status, 200);
      await assert.rejects(get(port, '/metrics', { cert: pki.badClientCert, key: pki.badClientKey }));
    } finally {
      assert.equal(await e.stop(), 0);
    }
  });

  describe('a bad file at start is one line on stderr and status 2, before listening', () => {
    const cases: [string, string, string][] = [
      ['missing.yml', '', 'cannot read web config file {dir}/missing.yml: ENOENT'],
      ['unknown.yml', 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth: NoClientCert\n', 'tls_server_config: unknown field "client_auth"'],
      ['nokey.yml', 'tls_server_config:\n  cert_file: server.crt\n', 'tls_server_config: missing one of key or key_file'],
      ['authtype.yml', tlsBlock('  client_auth_type: Sometimes\n'), 'tls_server_config.client_auth_type: invalid value "Sometimes", expected one of NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert'],
      ['noca.yml', tlsBlock('  client_auth_type: RequireAndVerifyClientCert\n'), 'tls_server_config: client_auth_type RequireAndVerifyClientCert needs client_ca_file or client_ca'],
      ['mismatch.yml', 'tls_server_config:\n  cert_file: server.crt\n  key_file: client.key\n', 'TLS: '],
      ['hash.yml', 'basic_auth_users:\n  prometheus: plaintext-password\n', 'basic_auth_users.prometheus: not a bcrypt hash ($2a$, $2b$ or $2y$, cost, 53 characters)'],
      ['yaml.yml', 'basic_auth_users: [unclosed\n', 'invalid YAML: '],
      ['header.yml', 'http_server_config:\n  headers:\n    X-Frame-Options: always\n', 'http_server_config.headers.X-Frame-Options: invalid value "always", expected one of deny, sameorigin'],
    ];
    for (const [name, text, message] of cases) {
      it(name, () => {
        const file = path.join(dir, name);
        if (text) writeFileSync(file, text);
        const r = spawnSync(process.execPath, [BIN, `--web.config.file=${file}`, '--web.listen-address=127.0.0.1:0'], { cwd: ROOT, encoding: 'utf8', timeout: 15_000 });
        assert.equal(r.status, 2, r.stderr);
        const prefix = `accelerator-exporter: --web.config.file=${file}: ${message.replace('{dir}', dir)}`;
        assert.ok(r.stderr.startsWith(prefix), `${r.stderr} starts with ${prefix}`);
        assert.equal(r.stderr.split('\n').length, 2, 'one line');
        assert.ok(!r.stderr.includes('plaintext-password'), 'no secret echoed');
        assert.equal(r.stdout, '');
      });
    }
  });

  it('the real Prometheus scrapes over TLS with basic auth', { skip: prometheusAvailable() ? false : 'prometheus not installed' }, async () => {
    const file = writeConfig('prom.yml', `${tlsBlock()}basic_auth_users:\n  prometheus: ${hashSync('scrape-pass', 4)}\n`);
    writeFileSync(path.join(dir, 'password'), 'scrape-pass');
    const e = await startExporter([`--web.config.file=${file}`]);
    // The scrape configuration docs/install.md gives, with this test's files.
    const config = {
      global: { scrape_interval: '1s', scrape_timeout: '1s' },
      scrape_configs: [
        {
          job_name: 'accelerator-exporter',
          scheme: 'https',
          tls_config: { ca_file: pki.caCert, server_name: 'localhost' },
          basic_auth: { username: 'prometheus', password_file: path.join(dir, 'password') },
          static_configs: [{ targets: [`127.0.0.1:${portOf(e)}`] }],
        },
      ],
    };
    const prom = await startPrometheus(JSON.stringify(config));
    try {
      const up = await waitFor('a successful scrape', async () => {
        const r = await prom.query('up{job="accelerator-exporter"} == 1 and on() accelerator_exporter_build_info');
        return (r.result as unknown[]).length === 1 && r;
      }, 30_000);
      assert.equal(up.resultType, 'vector');
    } finally {
      await prom.stop();
      assert.equal(await e.stop(), 0);
    }
  });
});
