// The hand-written Kubernetes API client: kubeconfig and service-account
// access, the back-off, and the reflector's list/watch/relist and synced state
// against a scripted lister.

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import pino from 'pino';
import { inClusterAccess, kubeconfigAccess } from '../../src/attribution/kube-access.ts';
import { KubeApiError, type KubeLister, type ListResult, type WatchEvent } from '../../src/attribution/kube-http.ts';
import { Backoff, Reflector } from '../../src/attribution/kube-reflector.ts';

const silent = pino({ level: 'silent' });

function kubeconfig(user: Record<string, unknown>, cluster: Record<string, unknown> = { server: 'https://10.0.0.1:6443/', 'certificate-authority': 'ca.pem' }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'ae-kc-'));
  writeFileSync(path.join(dir, 'ca.pem'), 'CA BYTES');
  writeFileSync(path.join(dir, 'token'), 'file-token\n');
  const file = path.join(dir, 'config');
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
current-context: ctx
contexts:
- name: ctx
  context: {cluster: c, user: u}
clusters:
- name: c
  cluster: ${JSON.stringify(cluster)}
users:
- name: u
  user: ${JSON.stringify(user)}
`,
  );
  return file;
}

describe('kubeconfig access', () => {
  it('reads server, CA (relative to the file), bearer token', () => {
    const a = kubeconfigAccess(kubeconfig({ token: 'abc' }));
    assert.equal(a.server, 'https://10.0.0.1:6443');
    assert.equal(a.ca?.toString(), 'CA BYTES');
    assert.equal(a.authorization(), 'Bearer abc');
    assert.equal(a.insecureSkipTlsVerify, false);
  });

  it('reads a token file, client certificate data and basic credentials', () => {
    assert.equal(kubeconfigAccess(kubeconfig({ tokenFile: 'token' })).authorization(), 'Bearer file-token');
    const cert = kubeconfigAccess(kubeconfig({ 'client-certificate-data': Buffer.from('CERT').toString('base64'), 'client-key-data': Buffer.from('KEY').toString('base64') }));
    assert.equal(cert.cert?.toString(), 'CERT');
    assert.equal(cert.key?.toString(), 'KEY');
    assert.equal(cert.authorization(), undefined);
    assert.equal(kubeconfigAccess(kubeconfig({ username: 'admin', password: 'pw' })).authorization(), `Basic ${Buffer.from('admin:pw').toString('base64')}`);
  });

  it('refuses exec and auth-provider plugins with a message that says what to use instead', () => {
    assert.throws(() => kubeconfigAccess(kubeconfig({ exec: { command: 'aws', args: ['eks', 'get-token'] } })), /exec credential plugin \(aws\).*token, a token file or a client certificate/);
    assert.throws(() => kubeconfigAccess(kubeconfig({ 'auth-provider': { name: 'oidc' } })), /auth-provider "oidc"/);
  });

  it('says what is wrong with a broken file', () => {
    assert.throws(() => kubeconfigAccess('/nonexistent/kubeconfig'), /cannot read kubeconfig \/nonexistent\/kubeconfig/);
    assert.throws(() => kubeconfigAccess(kubeconfig({}, { 'certificate-authority': 'ca.pem' })), /no http\(s\) server address/);
  });
});

describe('in-cluster access', () => {
  it('uses the service account token and CA, and brackets an IPv6 service host', () => {
    const files: Record<string, string> = { '/sa/ca.crt': 'CA', '/sa/token': 'sa-token' };
    const read = (f: string) => {
      if (!(f in files)) throw new Error(`ENOENT ${f}`);
      return Buffer.from(files[f]!);
    };
    const a = inClusterAccess({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, read, '/sa');
    assert.equal(a.server, 'https://[fd00::1]:443');
    assert.equal(a.authorization(), 'Bearer sa-token');
    assert.throws(() => inClusterAccess({ KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' }, read, '/elsewhere'), /automountServiceAccountToken/);
  });
});

describe('Backoff', () => {
  it('doubles from the initial delay to the cap, each delay in the upper half of its step, and resets', () => {
    const low = new Backoff({ initialMs: 1000, maxMs: 30_000, random: () => 0 });
    assert.deepEqual(Array.from({ length: 7 }, () => low.next()), [500, 1000, 2000, 4000, 8000, 15_000, 15_000]);
    const high = new Backoff({ initialMs: 1000, maxMs: 30_000, random: () => 0.999999 });
    assert.deepEqual(Array.from({ length: 6 }, () => Math.round(high.next())), [1000, 2000, 4000, 8000, 16_000, 30_000]);
    high.reset();
    assert.equal(Math.round(high.next()), 1000);
  });
});

/** A lister that answers from a script, one step per call. */
function scripted(steps: ((kind: 'list' | 'watch', path: string, onEvent: (e: WatchEvent) => void) => Promise<ListResult | void>)[]): KubeLister & { calls: string[] } {
  const calls: string[] = [];
  const next = (kind: 'list' | 'watch', p: string, signal: AbortSignal, onEvent: (e: WatchEvent) => void = () => {}) => {
    calls.push(`${kind} ${p}`);
    const step = steps.shift();
    // Out of script: hang until the reflector is stopped.
    return step ? step(kind, p, onEvent) : new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
  };
  return {
    calls,
    list: (p, _q, signal) => next('list', p, signal) as Promise<ListResult>,
    watch: (p, _q, onEvent, signal) => next('watch', p, signal, onEvent) as Promise<void>,
  };
}

const pod = (name: string) => ({ metadata: { namespace: 'ns', name } });
const until = async (what: string, fn: () => boolean) => {
  for (let i = 0; i < 500 && !fn(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(fn(), what);
};

describe('Reflector', () => {
  const backoff = { initialMs: 1, maxMs: 4, random: () => 0 };

  it('is not synced while the list fails, and syncs when a list succeeds', async () => {
    const fail = async () => {
      throw new KubeApiError(500, 'internal error');
    };
    const client = scripted([fail, fail, async () => ({ items: [pod('a')], resourceVersion: '7' })]);
    const syncedAt: boolean[] = [];
    const r: Reflector = new Reflector({ name: 'pods', paths: ['/api/v1/pods'], client, log: silent, onChange: () => syncedAt.push(r.isSynced()), backoff });
    r.start();
    await until('listed', () => r.isSynced());
    assert.deepEqual(client.calls, ['list /api/v1/pods', 'list /api/v1/pods', 'list /api/v1/pods', 'watch /api/v1/pods']);
    assert.ok(!syncedAt.slice(0, syncedAt.indexOf(true)).includes(true));
    assert.deepEqual(r.items().map((o) => o.metadata.name), ['a']);
    await r.stop();
  });

  it('applies watch events, relists on 410 Gone, and falls back to the next API version on 404', async () => {
    const client = scripted([
      async () => {
        throw new KubeApiError(404, 'not found');
      },
      async () => ({ items: [pod('a')], resourceVersion: '1' }),
      async (_k, _p, onEvent) => {
        onEvent({ type: 'ADDED', object: pod('b') });
        onEvent({ type: 'DELETED', object: pod('a') });
        onEvent({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '9' } } });
        throw new KubeApiError(410, 'too old');
      },
      async () => ({ items: [pod('c')], resourceVersion: '20' }),
    ]);
    const seen: string[][] = [];
    const r: Reflector = new Reflector({ name: 'resourceslices', paths: ['/v1/s', '/v1beta1/s'], client, log: silent, onChange: () => seen.push(r.items().map((o) => o.metadata.name)), backoff });
    r.start();
    await until('relisted', () => client.calls.length === 5);
    assert.deepEqual(client.calls, ['list /v1/s', 'list /v1beta1/s', 'watch /v1beta1/s', 'list /v1beta1/s', 'watch /v1beta1/s']);
    assert.ok(seen.some((s) => s.join() === 'b'), JSON.stringify(seen));
    assert.deepEqual(r.items().map((o) => o.metadata.name), ['c']);
    assert.equal(r.isSynced(), true);
    await r.stop();
  });
});

describe('what is kept of pods and claims', () => {
  it('keeps every field the join reads', async () => {
    const { readFileSync } = await import('node:fs');
    const { parseAllDocuments } = await import('yaml');
    const { claimInfo, podInfo, slimClaim, slimPod } = await import('../../src/attribution/kube-api.ts');
    const fixtures = path.join(import.meta.dirname, '../fixtures/k8s');
    for (const c of parseAllDocuments(readFileSync(path.join(fixtures, 'resourceclaim-examples.yaml'), 'utf8')).map((d) => d.toJSON())) {
      assert.deepEqual(claimInfo(slimClaim(c)), claimInfo(c));
    }
    const p = {
      metadata: { namespace: 'ml', name: 'trainer-0', uid: 'u1', annotations: { 'kubernetes.io/config.hash': 'h1', 'resource.kubernetes.io/pod-claim-name': 'gpu', other: 'x'.repeat(1000) }, managedFields: [{ manager: 'kubelet' }] },
      spec: { containers: [{ name: 'main', env: [{ name: 'A', value: 'B' }], resources: { claims: [{ name: 'gpu' }], limits: { cpu: '1' } } }] },
      status: { containerStatuses: [{ name: 'main', containerID: 'containerd://abc', image: 'x' }], initContainerStatuses: [{ name: 'init', containerID: 'cri-o://def' }], resourceClaimStatuses: [{ name: 'gpu', resourceClaimName: 'trainer-0-gpu' }] },
    };
    const slim = slimPod(p);
    assert.deepEqual(podInfo(slim), podInfo(p));
    assert.deepEqual(slim, {
      metadata: { uid: 'u1', namespace: 'ml', name: 'trainer-0', annotations: { 'kubernetes.io/config.hash': 'h1', 'resource.kubernetes.io/pod-claim-name': 'gpu' } },
      spec: { containers: [{ name: 'main', resources: { claims: [{ name: 'gpu' }] } }] },
      status: { containerStatuses: [{ name: 'main', containerID: 'containerd://abc' }], initContainerStatuses: [{ name: 'init', containerID: 'cri-o://def' }], ephemeralContainerStatuses: undefined, resourceClaimStatuses: [{ name: 'gpu', resourceClaimName: 'trainer-0-gpu' }] },
    });
  });
});

describe('KubeHttpClient over TLS', () => {
  it('verifies the server against the CA, sends the bearer token, pages a list and reads a watch', async (t) => {
    const { execFileSync } = await import('node:child_process');
    const https = await import('node:https');
    const { KubeHttpClient } = await import('../../src/attribution/kube-http.ts');
    const dir = mkdtempSync(path.join(tmpdir(), 'ae-tls-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=kubernetes', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'ca.pem')], { stdio: 'ignore' });
    } catch {
      t.skip('openssl is not installed');
      return;
    }
    const { readFileSync } = await import('node:fs');
    const seen: { url: string; auth: string | undefined }[] = [];
    const server = https.createServer({ key: readFileSync(path.join(dir, 'key.pem')), cert: readFileSync(path.join(dir, 'ca.pem')) }, (req, res) => {
      seen.push({ url: req.url!, auth: req.headers.authorization });
      const u = new URL(req.url!, 'https://x');
      if (u.searchParams.get('watch') === 'true') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(JSON.stringify({ type: 'ADDED', object: pod('c') }) + '\n{"type":"DELETED",');
        res.end('"object":' + JSON.stringify(pod('a')) + '}\n');
        return;
      }
      const page = u.searchParams.get('continue') ? { metadata: { resourceVersion: '5' }, items: [pod('b')] } : { metadata: { continue: 'next' }, items: [pod('a')] };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(page));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const server_ = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
    const client = new KubeHttpClient({ server: server_, ca: readFileSync(path.join(dir, 'ca.pem')), insecureSkipTlsVerify: false, authorization: () => 'Bearer sa-token' });
    const untrusting = new KubeHttpClient({ server: server_, insecureSkipTlsVerify: false, authorization: () => undefined });
    try {
      const listed = await client.list('/api/v1/pods', { fieldSelector: 'spec.nodeName=n1' }, AbortSignal.timeout(10_000));
      assert.deepEqual([listed.items.map((o) => o.metadata.name), listed.resourceVersion], [['a', 'b'], '5']);
      const events: string[] = [];
      await client.watch('/api/v1/pods', { resourceVersion: '5' }, (e) => events.push(`${e.type} ${e.object.metadata.name}`), AbortSignal.timeout(10_000));
      assert.deepEqual(events, ['ADDED c', 'DELETED a']);
      assert.deepEqual(seen.map((s) => [s.url, s.auth]), [
        ['/api/v1/pods?fieldSelector=spec.nodeName%3Dn1&limit=500', 'Bearer sa-token'],
        ['/api/v1/pods?fieldSelector=spec.nodeName%3Dn1&limit=500&continue=next', 'Bearer sa-token'],
        ['/api/v1/pods?resourceVersion=5&watch=true', 'Bearer sa-token'],
      ]);
      await assert.rejects(untrusting.list('/api/v1/pods', {}, AbortSignal.timeout(10_000)), (err: Error) => err.name === 'KubeApiError' && /certificate/i.test(err.message));
    } finally {
      client.close();
      untrusting.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
