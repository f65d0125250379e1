// Builds the fake libnvidia-ml.so.1 (test/fake-nvml) once per content and
// writes its state files. See test/fake-nvml/README.md for the state format.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { stateFromCapture, type CaptureStateOptions } from '../fake-nvml/state-from-capture.ts';
import { stateFromXml } from '../fake-nvml/state-from-xml.ts';

const run = promisify(execFile);
const ROOT = new URL('../fake-nvml/', import.meta.url).pathname;
export const FAKE_NVML_DIR = ROOT;
const BUILD = join(ROOT, 'build');
const FLAGS = ['-shared', '-fPIC', '-O2', '-Wall', '-Wextra', '-Werror', '-fvisibility=hidden', '-pthread'];

const builds = new Map<string, Promise<string>>();

/**
 * Compiles `sources` with `cc` against the vendored nvml.h into
 * test/fake-nvml/build/<content hash>/<name>, unless already there. The
 * output is renamed into place, so parallel test files never see half a file.
 */
async function compile(name: string, sources: string[], flags: string[], libs: string[]): Promise<string> {
  // $CC as make has it; `cc` is what Debian's gcc package provides.
  const cc = process.env.CC || 'cc';
  const hash = createHash('sha256');
  for (const f of [...sources, join(ROOT, 'include/nvml.h')]) hash.update(readFileSync(f));
  hash.update([cc, ...flags, ...libs].join(' '));
  const dir = join(BUILD, hash.digest('hex').slice(0, 16));
  const out = join(dir, name);
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  try {
    await run(cc, [...flags, '-I', join(ROOT, 'include'), '-o', tmp, ...sources, ...libs], { timeout: 120_000 });
  } catch (e) {
    rmSync(tmp, { force: true });
    try {
      rmdirSync(dir); // only if empty: another process may have built there meanwhile
    } catch {}
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT')
      throw new Error(`the fake libnvidia-ml needs a C compiler: \`${cc}\` was not found (Debian: apt-get install gcc libc6-dev)`);
    throw new Error(`compiling ${name} failed:\n${err.stderr ?? err.message}`);
  }
  renameSync(tmp, out);
  return out;
}

function once(key: string, f: () => Promise<string>): Promise<string> {
  let p = builds.get(key);
  if (!p) {
    p = f();
    p.catch(() => builds.delete(key));
    builds.set(key, p);
  }
  return p;
}

/** Path of the fake `libnvidia-ml.so.1`, compiled on first use. */
export function buildFakeNvml(): Promise<string> {
  return once('lib', () => compile('libnvidia-ml.so.1', [join(ROOT, 'fake_nvml.c')], FLAGS, []));
}

/**
 * Path of `nvml-dump`, a small C program that loads an NVML library (the fake
 * or the real one) by path and prints what it answers, in the state format.
 */
export function buildNvmlDump(): Promise<string> {
  return once('dump', () =>
    compile('nvml-dump', [join(ROOT, 'nvml-dump.c')], ['-O2', '-Wall', '-Wextra', '-Werror', '-pthread'], ['-ldl']),
  );
}

/** The environment that points the fake at a state file (and an events file). */
export function fakeNvmlEnv(statePath: string, eventsPath?: string): Record<string, string> {
  return { FAKE_NVML_STATE: statePath, ...(eventsPath ? { FAKE_NVML_EVENTS: eventsPath } : {}) };
}

/**
 * Writes a state file atomically (write, then rename), as the fake re-reads
 * the file whenever it changes and must never see half of it.
 */
export function writeFakeNvmlState(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/**
 * A capture's state text, plus extra lines appended after it (later lines
 * win). `capture_*.txt` files go through state-from-capture.ts (opts apply);
 * `nvidia-smi-q-x_*.xml` files through state-from-xml.ts (one moment, every
 * GPU in the file; opts must be empty).
 */
export function captureState(capture: string, opts: CaptureStateOptions = {}, extra: string[] = []): string {
  if (capture.endsWith('.xml') && (opts.state || opts.gpus)) throw new Error('an XML capture has one moment and its own GPUs: no state or gpus option');
  const base = capture.endsWith('.xml') ? stateFromXml(capture) : stateFromCapture(capture, opts);
  return extra.length ? base + extra.join('\n') + '\n' : base;
}

export { stateFromCapture, stateFromXml };
