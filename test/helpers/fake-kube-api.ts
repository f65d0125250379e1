// A loopback stand-in for the few Kubernetes API endpoints attribution uses:
// list and watch (chunked JSON events) of pods, ResourceSlices and
// ResourceClaims, with resourceVersions. Objects can be set at any time;
// open watches get ADDED/MODIFIED/DELETED events. `fail(code)` turns it into a
// sick API server: open watches are cut and every request is answered with
// that status and a Status body, as kube-apiserver does, until `fail(undefined)`.

import http from 'node:http';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

type Obj = Record<string, any>;

interface Collection {
  readonly kind: string;
  readonly apiVersion: string;
  items: Map<string, Obj>;
  watchers: Set<http.ServerResponse>;
}

export interface FakeKubeApi {
  readonly url: string;
  /** Writes a kubeconfig pointing at the fake and returns its path. */
  kubeconfig(dir: string): string;
  set(resource: 'pods' | 'resourceslices' | 'resourceclaims', objects: Obj[]): void;
  /** Path and query of every request, in order, with the time it arrived. */
  requests: string[];
  requestTimes: number[];
  /** Answer every request with this HTTP status (500, 503, 403, ...) until called with undefined. */
  fail(code: number | undefined): void;
  close(): Promise<void>;
}

type Route = { res: 'pods' | 'resourceslices' | 'resourceclaims'; kind: string; apiVersion: string };

/** `resource.k8s.io` is served at one version only: v1 (1.34+) or v1beta1 (a 1.32 cluster; other versions 404). */
function routes(resourceVersion: 'v1' | 'v1beta1'): Record<string, Route> {
  return {
    '/api/v1/pods': { res: 'pods', kind: 'PodList', apiVersion: 'v1' },
    [`/apis/resource.k8s.io/${resourceVersion}/resourceslices`]: { res: 'resourceslices', kind: 'ResourceSliceList', apiVersion: `resource.k8s.io/${resourceVersion}` },
    [`/apis/resource.k8s.io/${resourceVersion}/resourceclaims`]: { res: 'resourceclaims', kind: 'ResourceClaimList', apiVersion: `resource.k8s.io/${resourceVersion}` },
  };
}

export async function fakeKubeApi(opts: { resourceVersion?: 'v1' | 'v1beta1' } = {}): Promise<FakeKubeApi> {
  const PATHS = routes(opts.resourceVersion ?? 'v1');
  let rv = 100;
  const cols = new Map<string, Collection>();
  for (const p of Object.values(PATHS)) cols.set(p.res, { kind: p.kind, apiVersion: p.apiVersion, items: new Map(), watchers: new Set() });
  const key = (o: Obj) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;
  const requests: string[] = [];
  const requestTimes: number[] = [];
  let failing: number | undefined;
  const server = http.createServer((req, res) => {
    const u = new URL(req.url!, 'http://x');
    requests.push(u.pathname + u.search);
    requestTimes.push(Date.now());
    if (failing !== undefined) {
      const reason = failing === 403 ? 'Forbidden' : failing === 503 ? 'ServiceUnavailable' : 'InternalError';
      res.writeHead(failing, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `fake API server failing with ${failing}`, reason, code: failing }));
      return;
    }
    const route = PATHS[u.pathname];
    if (!route) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 }));
      return;
    }
    const col = cols.get(route.res)!;
    if (u.searchParams.get('watch') === 'true') {
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      // An API server answers a watch at once; node would hold the headers until the first event.
      res.flushHeaders();
      col.watchers.add(res);
      res.on('close', () => col.watchers.delete(res));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: col.kind, apiVersion: col.apiVersion, metadata: { resourceVersion: String(rv) }, items: [...col.items.values()] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    url,
    requests,
    requestTimes,
    fail(code) {
      failing = code;
      if (code !== undefined) for (const c of cols.values()) for (const w of c.watchers) w.destroy();
    },
    kubeconfig(dir) {
      const file = path.join(dir, 'kubeconfig');
      writeFileSync(
        file,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'fake', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
          users: [{ name: 'fake', user: {} }],
          contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake' } }],
          'current-context': 'fake',
        }),
      );
      return file;
    },
    set(resource, objects) {
      const col = cols.get(resource)!;
      const next = new Map(objects.map((o) => [key(o), o]));
      const send = (type: string, o: Obj) => {
        const obj = { ...o, metadata: { ...o.metadata, resourceVersion: String(++rv) } };
        for (const w of col.watchers) w.write(JSON.stringify({ type, object: obj }) + '\n');
        return obj;
      };
      for (const [k, o] of col.items) if (!next.has(k)) send('DELETED', o);
      for (const [k, o] of next) next.set(k, send(col.items.has(k) ? 'MODIFIED' : 'ADDED', o));
      col.items = next;
    },
    async close() {
      for (const c of cols.values()) for (const w of c.watchers) w.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
