// Where the Kubernetes API is and how to authenticate to it: the pod's
// service account (in-cluster), or a kubeconfig file with a bearer token,
// token file, client certificate or basic credentials. Exec and auth-provider
// plugins are refused with a clear message: running a credential helper from
// a node agent is out of scope, and in a cluster the service account is used.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** Bound service-account tokens are rotated by the kubelet; client-go re-reads the file every minute too. */
const TOKEN_REREAD_MS = 60_000;

export interface KubeAccess {
  /** https://host:port, without a trailing slash. */
  readonly server: string;
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly insecureSkipTlsVerify: boolean;
  readonly tlsServerName?: string;
  /** The Authorization header value for the next request, if any. */
  readonly authorization: () => string | undefined;
}

export class KubeAccessError extends Error {
  override readonly name = 'KubeAccessError';
}

type ReadFile = (file: string) => Buffer;

/** A token read from a file, re-read at most once a minute so a rotated token is picked up. */
function tokenFile(file: string, read: ReadFile, now: () => number = Date.now): () => string | undefined {
  let token = read(file).toString('utf8').trim();
  let at = now();
  return () => {
    if (now() - at >= TOKEN_REREAD_MS) {
      try {
        token = read(file).toString('utf8').trim();
      } catch {
        // Keep the last token: a file being replaced is briefly absent.
      }
      at = now();
    }
    return token ? `Bearer ${token}` : undefined;
  };
}

export function inClusterAccess(env: Readonly<Record<string, string | undefined>>, read: ReadFile = readFileSync, dir = SERVICE_ACCOUNT_DIR): KubeAccess {
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT ?? '';
  if (!host || !port) throw new KubeAccessError('KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set: not running in a pod');
  let ca: Buffer;
  let auth: () => string | undefined;
  try {
    ca = read(path.join(dir, 'ca.crt'));
    auth = tokenFile(path.join(dir, 'token'), read);
  } catch (err) {
    throw new KubeAccessError(`cannot read the service account in ${dir} (automountServiceAccountToken off?): ${(err as Error).message}`);
  }
  return { server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`, ca, insecureSkipTlsVerify: false, authorization: auth };
}

type Obj = Record<string, any>;

function named(list: unknown, name: string, what: string, file: string): Obj {
  const entry = Array.isArray(list) ? (list as Obj[]).find((e) => e?.name === name) : undefined;
  if (!entry) throw new KubeAccessError(`${file}: no ${what} named "${name}"`);
  return entry;
}

/** The current context of a kubeconfig (YAML or JSON); relative file paths are relative to the file, as kubectl reads them. */
export function kubeconfigAccess(file: string, read: ReadFile = readFileSync): KubeAccess {
  let doc: Obj;
  try {
    const text = read(file).toString('utf8');
    // The YAML parser is loaded only for a kubeconfig file; in a pod the service account needs none.
    const { parse } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
    doc = (parse(text) ?? {}) as Obj;
  } catch (err) {
    throw new KubeAccessError(`cannot read kubeconfig ${file}: ${(err as Error).message}`);
  }
  const contextName = String(doc['current-context'] ?? '');
  if (!contextName) throw new KubeAccessError(`${file}: no current-context`);
  const context = named(doc.contexts, contextName, 'context', file).context ?? {};
  const cluster = named(doc.clusters, String(context.cluster ?? ''), 'cluster', file).cluster ?? {};
  const user = context.user ? (named(doc.users, String(context.user), 'user', file).user ?? {}) : {};
  const dir = path.dirname(file);
  const abs = (p: string) => (path.isAbsolute(p) ? p : path.join(dir, p));
  const bytes = (data: unknown, ref: unknown): Buffer | undefined => {
    if (typeof data === 'string' && data) return Buffer.from(data, 'base64');
    if (typeof ref === 'string' && ref) return read(abs(ref));
    return undefined;
  };

  if (user.exec) throw new KubeAccessError(`${file}: user "${context.user}" uses an exec credential plugin (${user.exec.command ?? '?'}), which this exporter does not run; use a token, a token file or a client certificate, or run in the cluster with a service account`);
  if (user['auth-provider']) throw new KubeAccessError(`${file}: user "${context.user}" uses the auth-provider "${user['auth-provider'].name ?? '?'}", which this exporter does not support; use a token, a token file or a client certificate`);
  const server = String(cluster.server ?? '').replace(/\/+$/, '');
  if (!/^https?:\/\//.test(server)) throw new KubeAccessError(`${file}: cluster "${context.cluster}" has no http(s) server address`);

  let authorization: () => string | undefined = () => undefined;
  if (typeof user.token === 'string' && user.token) authorization = () => `Bearer ${user.token}`;
  else if (typeof user.tokenFile === 'string' && user.tokenFile) authorization = tokenFile(abs(user.tokenFile), read);
  else if (typeof user.username === 'string' && user.username) {
    const basic = `Basic ${Buffer.from(`${user.username}:${user.password ?? ''}`).toString('base64')}`;
    authorization = () => basic;
  }
  return {
    server,
    ca: bytes(cluster['certificate-authority-data'], cluster['certificate-authority']),
    cert: bytes(user['client-certificate-data'], user['client-certificate']),
    key: bytes(user['client-key-data'], user['client-key']),
    insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
    tlsServerName: typeof cluster['tls-server-name'] === 'string' ? cluster['tls-server-name'] : undefined,
    authorization,
  };
}
