// Renders the kustomize directories under daemonset/ with the kubectl on PATH.
// kubectl is not an npm package: where it is missing the deploy tests skip with
// KUBECTL_MISSING as their reason instead of failing the whole suite.

import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
export const DAEMONSET_DIR = path.join(REPO_ROOT, 'daemonset');

export const KUBECTL_MISSING =
  'kubectl not found on PATH: the deploy tests need kubectl >= 1.27 (kustomize v5, for components); ' +
  "Debian's kubernetes-client package (1.20) is too old";

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: any;
  [key: string]: unknown;
}

/** Every directory that must render: the base, each overlay, each example. */
export function kustomizeTargets(): string[] {
  const under = (dir: string) =>
    readdirSync(path.join(DAEMONSET_DIR, dir), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => `${dir}/${e.name}`)
      .sort();
  return ['base', ...under('overlays'), ...under('examples')];
}

export function kubectlAvailable(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const cache = new Map<string, K8sObject[]>();

/** `kubectl kustomize daemonset/<target>`, parsed; throws on a render or YAML error. */
export function render(target: string): K8sObject[] {
  const hit = cache.get(target);
  if (hit) return hit;
  const out = execFileSync('kubectl', ['kustomize', path.join(DAEMONSET_DIR, target)], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  const objects = parseAllDocuments(out).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${target}: ${doc.errors[0]!.message}`);
    return doc.toJS() as K8sObject;
  });
  cache.set(target, objects);
  return objects;
}

export function describe(o: K8sObject): string {
  return `${o.kind}/${o.metadata?.name}`;
}
