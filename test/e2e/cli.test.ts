import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { BIN, ROOT } from '../helpers/exporter.ts';

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 15_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('command line', () => {
  for (const [args, message] of [
    [['--collect.interval=banana'], 'accelerator-exporter: invalid value "banana" for flag --collect.interval: expected a positive duration such as 10s, 500ms or 1m\n'],
    [['--attribution.interval=often'], 'accelerator-exporter: invalid value "often" for flag --attribution.interval: expected a positive duration such as 10s, 500ms or 1m or "collect"\n'],
    [['--attribution.interval=0s'], 'accelerator-exporter: invalid value "0s" for flag --attribution.interval: expected a positive duration such as 10s, 500ms or 1m or "collect"\n'],
    [['--bogus'], 'accelerator-exporter: unknown flag --bogus (see --help)\n'],
    [['--web.listen-address=nowhere'], 'accelerator-exporter: invalid value "nowhere" for flag --web.listen-address: expected [host]:port, e.g. :9477, 127.0.0.1:9477 or [::1]:9477\n'],
    [['--log.level=loud'], 'accelerator-exporter: invalid value "loud" for flag --log.level: expected one of debug, info, warn, error\n'],
  ] as const) {
    it(`rejects ${args.join(' ')} with one line and status 2, before listening`, () => {
      const r = run([...args]);
      assert.equal(r.status, 2);
      assert.equal(r.stderr, message);
      assert.equal(r.stdout, '');
    });
  }

  it('rejects a bad environment value naming the variable', () => {
    const r = run([], { ACCELERATOR_EXPORTER_COLLECT_TIMEOUT: '-1s' });
    assert.equal(r.status, 2);
    assert.equal(r.stderr, 'accelerator-exporter: invalid value "-1s" for environment variable ACCELERATOR_EXPORTER_COLLECT_TIMEOUT: expected a positive duration such as 10s, 500ms or 1m\n');
  });

  it('prints help listing every flag with its environment variable', () => {
    const r = run(['--help']);
    assert.equal(r.status, 0);
    for (const flag of ['--web.listen-address', '--collect.interval', '--nvidia-smi.path', '--[no-]backend.nvidia-smi', '--log.level', '--log.format', 'ACCELERATOR_EXPORTER_NVIDIA_SMI_PATH']) {
      assert.ok(r.stdout.includes(flag), `--help mentions ${flag}`);
    }
  });

  it('lists in --help only flags the README documents', () => {
    const help = run(['--help']).stdout;
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const flags = [...help.matchAll(/^  --(?:\[no-\])?([a-z][a-z0-9.-]*)/gm)].map((m) => m[1]!).filter((f) => f !== 'help' && f !== 'version');
    assert.ok(flags.includes('metrics.include') && flags.includes('metrics.exclude'));
    for (const flag of flags) {
      const name = flag.startsWith('backend.') ? 'backend.<name>' : flag;
      assert.ok(readme.includes(`--${name}`) || readme.includes(`--[no-]${name}`), `README.md does not document --${flag}`);
    }
    assert.match(help, /Self metrics \(accelerator_exporter_\*\) cannot be excluded/);
  });

  it('prints the version', () => {
    const r = run(['--version']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^accelerator-exporter \d+\.\d+\.\d+ \(node v\d+/);
  });
});
