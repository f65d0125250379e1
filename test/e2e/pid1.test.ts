// Zombies and PID 1 (docs/install.md, "PID 1 and zombies"): the real exporter
// in its own PID namespace (unshare), sampling a tool that leaves a
// short-lived child behind at every run. As PID 1, node leaves every such
// orphan a zombie; with a reaping PID 1 above it, as the pause container is
// with shareProcessNamespace (the DaemonSet's setting), none stays.
// Needs root, unshare(1) and cc; skips and says why otherwise.

import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, FAKE_TOOLS, FIXTURES, ROOT, isolatingEnv, waitFor } from '../helpers/exporter.ts';

function whyNot(): string | false {
  if (process.platform !== 'linux') return 'Linux only';
  if (process.getuid?.() !== 0) return 'needs root for a PID namespace';
  if (spawnSync('unshare', ['--pid', '--fork', 'true']).status !== 0) return 'unshare --pid --fork not permitted here';
  if (spawnSync('cc', ['--version']).status !== 0) return 'no C compiler (cc) for the reaper';
  return false;
}
const skip = whyNot();

let dir: string;
let reaper: string;
let tool: string;

before(() => {
  if (skip) return;
  dir = mkdtempSync(path.join(tmpdir(), 'ae-pid1-'));
  reaper = path.join(dir, 'reaper');
  execFileSync('cc', ['-O2', '-o', reaper, path.join(FAKE_TOOLS, 'reaper/reaper.c')]);
  // nvidia-smi that leaves an orphan living 50 ms at every run, then answers from the capture.
  tool = path.join(dir, 'nvidia-smi');
  writeFileSync(tool, `#!/bin/sh\n( sleep 0.05 & )\nexec '${process.execPath}' '${path.join(FAKE_TOOLS, 'nvidia-smi')}' "$@"\n`);
  chmodSync(tool, 0o755);
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Proc {
  readonly pid: number;
  readonly ppid: number;
  readonly state: string;
}

function processes(): Proc[] {
  const out: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.push({ pid: Number(name), ppid: Number(f[1]), state: f[0]! });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const zombiesUnder = (parents: readonly number[]) => processes().filter((p) => p.state === 'Z' && parents.includes(p.ppid)).length;
const childOf = (pid: number) => processes().find((p) => p.ppid === pid)?.pid;

/** unshare → PID 1 of the new namespace (the exporter itself, or the reaper and under it the exporter). */
async function run(withReaper: boolean): Promise<{ proc: ChildProcess; pid1: number; exporter: number; log: string; stop(): Promise<void> }> {
  const log = path.join(dir, `runs-${withReaper}.log`);
  const args = [BIN, `--nvidia-smi.path=${tool}`, '--collect.interval=100ms', '--web.listen-address=127.0.0.1:0', '--no-attribution'];
  const command = withReaper ? [reaper, process.execPath, ...args] : [process.execPath, ...args];
  const proc = spawn('unshare', ['--pid', '--fork', '--kill-child', '--', ...command], {
    cwd: ROOT,
    env: { ...process.env, ...isolatingEnv(args), FAKE_NVIDIA_SMI_CAPTURE: path.join(FIXTURES, 'nvidia/capture_h100-80gb-hbm3_590.48.01_linux.txt'), FAKE_NVIDIA_SMI_LOG: log },
    stdio: 'ignore',
  });
  let pid1: number;
  let exporter: number;
  try {
    pid1 = await waitFor('PID 1 of the namespace', async () => childOf(proc.pid!));
    exporter = withReaper ? await waitFor('the exporter under the reaper', async () => childOf(pid1)) : pid1;
  } catch (err) {
    // --kill-child: the namespace goes with unshare.
    proc.kill('SIGKILL');
    throw err;
  }
  return {
    proc,
    pid1,
    exporter,
    log,
    async stop() {
      if (proc.exitCode !== null) return;
      const exited = once(proc, 'exit');
      process.kill(pid1, 'SIGTERM');
      // Bounded: a namespace still up after 10 s goes with unshare (--kill-child).
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

const runs = (log: string) => {
  try {
    return readFileSync(log, 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
};

describe('PID 1 and zombies', { skip }, () => {
  it('node as PID 1 leaves the orphans of a tool as zombies', async () => {
    const r = await run(false);
    try {
      const zombies = await waitFor('zombies to pile up under node', async () => {
        const n = zombiesUnder([r.exporter]);
        return n >= 5 && n;
      }, 60_000);
      assert.ok(zombies >= 5);
    } finally {
      await r.stop();
    }
  });

  it('a reaping PID 1 above node (pause with shareProcessNamespace) leaves none', async () => {
    const r = await run(true);
    try {
      await waitFor('10 tool runs', async () => runs(r.log) >= 10, 60_000);
      // Each orphan lives 50 ms; wait past the last one's exit.
      await new Promise((res) => setTimeout(res, 300));
      const seen = [zombiesUnder([r.pid1, r.exporter])];
      for (let i = 0; i < 5; i++) {
        await new Promise((res) => setTimeout(res, 100));
        seen.push(zombiesUnder([r.pid1, r.exporter]));
      }
      // A zombie exists only between a child's exit and the reaper's wait(): never more than one at a look.
      assert.ok(Math.max(...seen) <= 1, `zombies seen: ${seen.join(', ')} after ${runs(r.log)} tool runs`);
      assert.ok(runs(r.log) >= 10);
    } finally {
      await r.stop();
    }
  });
});
