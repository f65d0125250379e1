// Validates rendered objects against schemas shipped in npm packages (nothing is
// fetched at test time):
//  - kubernetes-models 5.1.0: generated from the Kubernetes v1.36.0 OpenAPI spec
//    (merged with older specs only for APIs removed since). No npm package ships a
//    v1.34 schema (kubernetes-models 4.5.x is v1.33.0, 5.x is v1.36.0); every kind
//    and field used here is GA and unchanged between 1.34 and 1.36.
//  - @kubernetes-models/prometheus-operator 6.0.0: generated from
//    prometheus-operator v0.91.0's monitoring.coreos.com API types.
// Two passes: the packages' JSON-schema validators (types, enums, required
// fields), and a TypeScript excess-property check against the packages' generated
// interfaces, because the OpenAPI schemas allow unknown fields and a misspelt
// `readOnlyRootFileSystem` would otherwise pass silently.

import path from 'node:path';
import ts from 'typescript';
import { REPO_ROOT, describe, type K8sObject } from './kustomize.ts';

export const SCHEMA_SOURCES = {
  kubernetes: 'kubernetes-models 5.1.0 (Kubernetes v1.36.0 OpenAPI; no v1.34 schema is published on npm)',
  prometheusOperator: '@kubernetes-models/prometheus-operator 6.0.0 (prometheus-operator v0.91.0)',
} as const;

/** The module that holds the generated model of an apiVersion/kind. */
export function modelModule(apiVersion: string, kind: string): string {
  if (!/^[A-Za-z]+$/.test(kind)) throw new Error(`odd kind ${JSON.stringify(kind)}`);
  const slash = apiVersion.indexOf('/');
  if (slash < 0) return `kubernetes-models/${apiVersion}/${kind}`;
  const group = apiVersion.slice(0, slash);
  if (group === 'monitoring.coreos.com') return `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`;
  return `kubernetes-models/${apiVersion}/${kind}`;
}

interface ModelClass {
  new (data: unknown): { validate(): void };
}

/** Schema errors of one object, as readable lines; [] when valid. */
export async function schemaErrors(o: K8sObject): Promise<string[]> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(modelModule(o.apiVersion, o.kind))) as Record<string, unknown>;
  } catch {
    return [`${describe(o)}: no schema for ${o.apiVersion} ${o.kind}`];
  }
  const Model = mod[o.kind] as ModelClass;
  try {
    new Model(o).validate();
    return [];
  } catch (err) {
    const e = err as { message: string; errors?: { instancePath: string; message: string }[] };
    if (!e.errors) return [`${describe(o)}: ${e.message}`];
    return e.errors.map((x) => `${describe(o)}: ${x.instancePath || '/'} ${x.message}`);
  }
}

/**
 * Fields the generated interfaces do not know (and type mismatches tsc sees),
 * one line each. Compiles an in-memory module that assigns every object as an
 * object literal to its interface.
 */
export function unknownFieldErrors(objects: readonly K8sObject[], where?: readonly string[]): string[] {
  const fileName = path.join(REPO_ROOT, 'test/deploy/__rendered_objects__.ts');
  const lines: string[] = [];
  const owners: { firstLine: number; object: K8sObject }[] = [];
  objects.forEach((o, i) => {
    lines.push(`import type { I${o.kind} as T${i} } from '${modelModule(o.apiVersion, o.kind)}';`);
  });
  objects.forEach((o, i) => {
    owners.push({ firstLine: lines.length, object: o });
    lines.push(...`export const o${i}: T${i} = ${JSON.stringify(o, null, 2)};`.split('\n'));
  });
  const source = lines.join('\n');
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, onError, create) =>
    name === fileName ? ts.createSourceFile(name, source, lang) : getSourceFile(name, lang, onError, create);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === fileName || fileExists(name);
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => (name === fileName ? source : readFile(name));
  const program = ts.createProgram([fileName], options, host);
  const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => d.file?.fileName === fileName);
  return diagnostics.map((d) => {
    const line = d.file!.getLineAndCharacterOfPosition(d.start ?? 0).line;
    const owner = [...owners].reverse().find((x) => x.firstLine <= line);
    const i = owner ? objects.indexOf(owner.object) : -1;
    const label = i < 0 ? 'imports' : `${where?.[i] ? `${where[i]}: ` : ''}${describe(objects[i]!)}`;
    return `${label}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
  });
}
