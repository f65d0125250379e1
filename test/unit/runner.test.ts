// The tool runner against real processes (node scripts given as argument
// arrays): a run ends at the tool's exit or its deadline together with every
// process it started, never leaves its single-flight guard set, and caps
// stdout while reading it.

import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  CommandNotFoundError,
  CommandOutputTooLargeError,
  CommandSpawnError,
  CommandTimeoutError,
  MAX_OUTPUT_BYTES,
  ProcessRunner,
} from '../../src/exec/runner.ts';
import { processGone } from '../helpers/processes.ts';

const NODE = process.execPath;

async function eventually(what: string, pred: () => boolean): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (pred()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`never: ${what}`);
}

// A child that inherits the tool's stdout and lives 10 minutes, its pid printed first.
const FORK_SLEEPER = `const c = require('node:child_process').spawn('sleep', ['600'], { stdio: ['ignore', 'inherit', 'ignore'] }); c.unref(); process.stdout.write(c.pid + '\\n');`;

describe('ProcessRunner', () => {
  it('returns at the tool\'s exit although a child it forked holds stdout open, and kills that child', async () => {
    const runner = new ProcessRunner();
    const r = await runner.run(NODE, ['-e', FORK_SLEEPER + `process.stdout.write('GPU 0, 42\\n');`], { timeoutMs: 30_000 });
    const [pid, row] = r.stdout.split('\n');
    assert.deepEqual([r.exitCode, row], [0, 'GPU 0, 42']);
    await eventually('the forked child is killed with the group', () => processGone(Number(pid)));
    // The guard is released: the same command line runs again at once.
    const again = await runner.run(NODE, ['-e', FORK_SLEEPER], { timeoutMs: 30_000 });
    await eventually('the second child is killed too', () => processGone(Number(again.stdout.trim())));
    assert.equal(runner.starts(), 2);
  });

  it('kills the whole group at the deadline, and lets the command run again once its process is gone', async () => {
    const runner = new ProcessRunner();
    const dir = mkdtempSync(path.join(tmpdir(), 'ae-runner-'));
    const pids = path.join(dir, 'pids');
    const script = `const c = require('node:child_process').spawn('sleep', ['600'], { stdio: 'ignore' }); c.unref(); require('node:fs').writeFileSync(${JSON.stringify(pids)}, process.pid + ' ' + c.pid); setInterval(() => {}, 1 << 30);`;
    await assert.rejects(runner.run(NODE, ['-e', script], { timeoutMs: 1500 }), CommandTimeoutError);
    const [tool, child] = readFileSync(pids, 'utf8').split(' ').map(Number);
    await eventually('tool and child are killed', () => processGone(tool!) && processGone(child!));
    const r = await runner.run(NODE, ['-e', script.replace('setInterval(() => {}, 1 << 30);', '')], { timeoutMs: 30_000 });
    assert.equal(r.exitCode, 0);
  });

  it('refuses a second run of a command line whose process still exists', async () => {
    const runner = new ProcessRunner();
    const args = ['-e', 'setTimeout(() => {}, 3000)'];
    const first = runner.run(NODE, args, { timeoutMs: 30_000 });
    await assert.rejects(runner.run(NODE, args, { timeoutMs: 30_000 }), /still running from an earlier sample/);
    assert.equal((await first).exitCode, 0);
  });

  it('kills a tool whose stdout passes the bound while reading, as too large', async () => {
    const runner = new ProcessRunner();
    const script = `const b = Buffer.alloc(1 << 20, 'x'); let n = 0; const w = () => { while (n < 64) { n++; if (!process.stdout.write(b)) return process.stdout.once('drain', w); } }; w();`;
    await assert.rejects(runner.run(NODE, ['-e', script], { timeoutMs: 60_000 }), (err: Error) => {
      assert.ok(err instanceof CommandOutputTooLargeError);
      assert.match(err.message, new RegExp(`printed more than ${MAX_OUTPUT_BYTES} bytes`));
      return true;
    });
  });

  it('keeps stdout and stderr apart, and exit codes', async () => {
    const r = await new ProcessRunner().run(NODE, ['-e', `process.stdout.write('out'); process.stderr.write('err'); process.exitCode = 3;`], { timeoutMs: 30_000 });
    assert.deepEqual(r, { stdout: 'out', stderr: 'err', exitCode: 3 });
  });

  it('tells a missing binary from one that cannot be executed', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ae-runner-'));
    await assert.rejects(new ProcessRunner().run(path.join(dir, 'absent'), [], { timeoutMs: 5000 }), CommandNotFoundError);
    const file = path.join(dir, 'not-executable');
    writeFileSync(file, '#!/bin/sh\necho hi\n');
    chmodSync(file, 0o644);
    await assert.rejects(new ProcessRunner().run(file, [], { timeoutMs: 5000 }), (err: Error) => err instanceof CommandSpawnError && /EACCES/.test(err.message));
  });

  it('ends a cancelled run and its group', async () => {
    const ac = new AbortController();
    const run = new ProcessRunner().run(NODE, ['-e', 'setInterval(() => {}, 1 << 30)'], { timeoutMs: 60_000, signal: ac.signal });
    setTimeout(() => ac.abort(), 200);
    await assert.rejects(run, /was cancelled/);
  });
});
