// The container image, without a container engine: scripts/image-tree.ts
// assembles exactly what the Dockerfile puts in /app (its COPYs and its
// `npm ci --omit=dev`), and this test starts the exporter from that tree the way
// the image's ENTRYPOINT plus the DaemonSet's args and env would, as the image's
// non-root user when the test runs as root, with nvidia-smi on PATH as the NVIDIA
// Container Toolkit would inject it (here the fake one replaying a real capture).

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parse } from 'yaml';
import { assembleImageTree, type ImageTree } from '../../scripts/image-tree.ts';
import { FAKE_TOOLS, FIXTURES, ROOT, waitFor } from '../helpers/exporter.ts';

const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
};

let work: string;
let tree: ImageTree;

before(() => {
  work = mkdtempSync(path.join(tmpdir(), 'image-tree-'));
  chmodSync(work, 0o755); // the image's user (65532) must reach /app
  tree = assembleImageTree(work);
});
after(() => rmSync(work, { recursive: true, force: true }));

test('the image holds the app and its runtime dependencies only', () => {
  const top = readdirSync(tree.appDir).sort();
  assert.deepEqual(top, ['LICENSE', 'bin', 'dist', 'node_modules', 'package-lock.json', 'package.json', 'src']);
  const modules = path.join(tree.appDir, 'node_modules');
  for (const dep of Object.keys(pkg.dependencies)) assert.ok(existsSync(path.join(modules, dep)), `${dep} installed`);
  // koffi's native code comes from its per-platform npm package, with install scripts off.
  if (process.platform === 'linux' && process.arch === 'x64') {
    assert.ok(existsSync(path.join(modules, '@koromix/koffi-linux-x64/linux_x64/koffi.node')), 'koffi\'s prebuilt linux x64 binary installed by npm ci --ignore-scripts');
  }
  // Dev-only packages (the lockfile's dev: true, e.g. typescript, the node binary)
  // are absent; a devDependency that a runtime dependency also needs stays.
  const lock = JSON.parse(readFileSync(path.join(tree.appDir, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  const devOnly = Object.entries(lock.packages).filter(([k, v]) => k.startsWith('node_modules/') && v.dev);
  assert.ok(devOnly.some(([k]) => k === 'node_modules/typescript'), 'lockfile marks typescript dev-only');
  for (const [key] of devOnly) assert.ok(!existsSync(path.join(tree.appDir, key)), `${key} left out`);
  assert.equal(tree.workdir, '/app');
  assert.equal(tree.user, '65532:65532', 'non-root by default');
  assert.deepEqual(tree.entrypoint, ['/nodejs/bin/node', '--max-semi-space-size=1', '--jitless', '/app/bin/accelerator-exporter.js']);
  assert.deepEqual(tree.cmd, [], 'a pod\'s args are the exporter\'s flags');
});

/** The DaemonSet container's args and literal env, from the base manifest. */
function daemonSetContainer(): { args: string[]; env: Record<string, string> } {
  const ds = parse(readFileSync(path.join(ROOT, 'daemonset/base/daemonset.yaml'), 'utf8'));
  const c = ds.spec.template.spec.containers[0];
  const env: Record<string, string> = {};
  for (const e of c.env) env[e.name] = e.value ?? 'node-under-test'; // downward API: NODE_NAME
  return { args: c.args, env };
}

test('the exporter starts from the image tree and serves device metrics', async (t) => {
  // Everything the process reaches lives under `work` (mode 0755), as it would in
  // the image: the checkout may sit in a directory the image's user cannot enter.
  // The image's own node, at its own path:
  const node = path.join(work, 'nodejs/bin/node');
  mkdirSync(path.dirname(node), { recursive: true });
  copyFileSync(process.execPath, node);
  chmodSync(node, 0o755);
  // nvidia-smi where the toolkit puts it, on PATH: the fake, its library and the capture it replays.
  const injected = path.join(work, 'usr-bin');
  cpSync(path.join(FAKE_TOOLS, 'lib'), path.join(injected, 'lib'), { recursive: true });
  copyFileSync(path.join(FAKE_TOOLS, 'nvidia-smi'), path.join(injected, 'nvidia-smi'));
  chmodSync(path.join(injected, 'nvidia-smi'), 0o755);
  const capture = path.join(work, 'capture.txt');
  copyFileSync(path.join(FIXTURES, 'nvidia/capture_h100-80gb-hbm3_590.48.01_linux.txt'), capture);

  const { args, env } = daemonSetContainer();
  assert.ok(args.includes('--web.listen-address=:9477'));
  const toHost = (p: string) => (p === '/nodejs/bin/node' ? node : p.replace(/^\/app(?=\/|$)/, tree.appDir));
  const [exe, ...entryArgs] = [...tree.entrypoint, ...args].map(toHost);
  const argv = [...entryArgs.map((a) => (a.startsWith('--web.listen-address=') ? '--web.listen-address=127.0.0.1:0' : a))];

  const asImageUser = process.getuid?.() === 0;
  if (!asImageUser) t.diagnostic('not root: running as the current user instead of 65532');
  const proc: ChildProcess = spawn(exe!, argv, {
    cwd: toHost(tree.workdir),
    env: {
      ...env,
      NODE_ENV: 'production',
      PATH: `${injected}:${path.dirname(node)}`,
      FAKE_NVIDIA_SMI_CAPTURE: capture,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(asImageUser ? { uid: 65532, gid: 65532 } : {}),
  });
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (d) => (stdout += d));
  proc.stderr!.on('data', (d) => (stderr += d));
  try {
    const port = await waitFor(`the exporter to listen (stderr: ${stderr})`, async () => {
      if (proc.exitCode !== null) throw new Error(`exited ${proc.exitCode}: ${stderr}`);
      const m = /"port":(\d+)\}.*"msg":"listening"/.exec(stdout);
      return m ? Number(m[1]) : undefined;
    });
    const url = `http://127.0.0.1:${port}`;
    const body = await waitFor('device series from nvidia-smi', async () => {
      const r = await fetch(`${url}/metrics`);
      const text = await r.text();
      return r.status === 200 && /uuid="GPU-/.test(text) && text;
    });
    assert.match(body, /^accelerator_exporter_backend_state\{backend="nvidia-smi",state="ok"\} 1$/m);
    // No NVIDIA driver here: koffi (loaded from the image's node_modules) asked the dynamic
    // loader for libnvidia-ml.so.1 and got its "cannot open" answer, so nvml has no data.
    assert.match(body, /^accelerator_exporter_backend_state\{backend="nvml",state="no_data"\} 1$/m);
    assert.match(stdout, /"backend":"nvml","reason":"cannot load libnvidia-ml\.so\.1: [^"]*cannot open shared object file/);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    assert.equal((await fetch(`${url}/readyz`)).status, 200);
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'));
    if (rss) t.diagnostic(`exporter RSS after first scrape: ${(Number(rss[1]) / 1024).toFixed(1)} MiB (limit 160Mi)`);
  } finally {
    proc.kill('SIGTERM');
    if (proc.exitCode === null) await once(proc, 'exit');
  }
});
