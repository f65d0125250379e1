// Assembles, in a directory, the file tree the Dockerfile's image holds under
// /app, reading the Dockerfile itself: the build stage's COPY sources and its
// `npm ci --omit=dev` (run offline, from the npm cache). No container engine is
// needed, so tests can run the exporter from exactly what the image would ship.
//
//   node scripts/image-tree.ts <out-dir>     prints the image's start command as JSON

import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');

export interface Instruction {
  readonly op: string;
  readonly args: string;
}

export interface ImageTree {
  /** Host directory standing for the image's /app. */
  readonly appDir: string;
  readonly workdir: string;
  readonly user: string;
  /** Exec-form ENTRYPOINT then CMD, as the image starts. */
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
}

/** Instructions of a Dockerfile, continuation lines joined, comments dropped. */
export function parseDockerfile(text: string): Instruction[] {
  const joined = text.replace(/\\\r?\n/g, ' ');
  return joined
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const m = /^(\S+)\s*(.*)$/.exec(l)!;
      return { op: m[1]!.toUpperCase(), args: m[2]!.trim() };
    });
}

function stages(ins: Instruction[]): { from: string; name?: string; body: Instruction[] }[] {
  const out: { from: string; name?: string; body: Instruction[] }[] = [];
  for (const i of ins) {
    if (i.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(i.args)!;
      out.push({ from: m[1]!, name: m[2], body: [] });
    } else if (out.length > 0) {
      out.at(-1)!.body.push(i);
    }
  }
  return out;
}

export function assembleImageTree(outDir: string, dockerfile = path.join(ROOT, 'Dockerfile')): ImageTree {
  const all = stages(parseDockerfile(readFileSync(dockerfile, 'utf8')));
  const build = all.find((s) => s.name === 'build');
  const final = all.at(-1)!;
  if (!build || final === build) throw new Error('Dockerfile: expected a "build" stage and a final stage');

  const appDir = path.join(outDir, 'app');
  mkdirSync(appDir, { recursive: true });
  let sawNpmCi = false;
  for (const i of build.body) {
    if (i.op === 'WORKDIR' && i.args !== '/app') throw new Error(`build stage WORKDIR ${i.args}, expected /app`);
    if (i.op === 'COPY') {
      const parts = i.args.split(/\s+/);
      if (parts.some((p) => p.startsWith('--'))) throw new Error(`unsupported COPY flags in build stage: ${i.args}`);
      const dest = parts.pop()!;
      for (const src of parts) {
        const target = dest.endsWith('/') ? path.join(appDir, dest, path.basename(src)) : path.join(appDir, dest);
        cpSync(path.join(ROOT, src), target, { recursive: true });
      }
    }
    if (i.op === 'RUN') {
      if (!/^npm ci --omit=dev\b/.test(i.args)) throw new Error(`unexpected RUN in build stage: ${i.args}`);
      sawNpmCi = true;
      // Same flags as the Dockerfile, plus --offline: tests fetch nothing.
      execFileSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--offline'], {
        cwd: appDir,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
    }
  }
  if (!sawNpmCi) throw new Error('build stage has no npm ci --omit=dev');

  const copyFromBuild = final.body.find((i) => i.op === 'COPY');
  if (!copyFromBuild || !/^--from=build(\s+--chown=\S+)?\s+\/app\s+\/app$/.test(copyFromBuild.args)) {
    throw new Error('final stage must COPY --from=build /app /app and nothing else');
  }
  if (final.body.filter((i) => i.op === 'COPY' || i.op === 'ADD' || i.op === 'RUN').length !== 1) {
    throw new Error('final stage must add nothing but /app (and run nothing)');
  }
  const last = (op: string) => final.body.filter((i) => i.op === op).at(-1)?.args;
  const execForm = (op: string): string[] => {
    const a = last(op);
    return a === undefined ? [] : (JSON.parse(a) as string[]);
  };
  return {
    appDir,
    workdir: last('WORKDIR') ?? '/',
    user: last('USER') ?? 'root',
    entrypoint: execForm('ENTRYPOINT'),
    cmd: execForm('CMD'),
  };
}

if (import.meta.main) {
  const out = process.argv[2];
  if (!out) {
    process.stderr.write('usage: node scripts/image-tree.ts <out-dir>\n');
    process.exit(2);
  }
  process.stdout.write(`${JSON.stringify(assembleImageTree(path.resolve(out)), null, 2)}\n`);
}
