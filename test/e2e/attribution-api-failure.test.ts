// A sick Kubernetes API server, end to end: the real exporter against a fake
// API that answers every request with 500. The API must read as down, the
// list and watch must be retried with a growing delay (a few thousand nodes
// retrying every half second would hammer a struggling API server), the
// warning must not repeat on every retry, and recovery must resync.

import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { FAKE_TOOLS, FIXTURES, sampleValue, startExporter, waitFor, type RunningExporter } from '../helpers/exporter.ts';
import { scrapeUntil } from '../helpers/golden-e2e.ts';
import { fakeKubeApi, type FakeKubeApi } from '../helpers/fake-kube-api.ts';
import { devices, fakeKubelet, pod } from '../helpers/fake-kubelet.ts';

const GPU = 'GPU-00000000-0000-0000-0000-000000000000';
// With the container's Node flags: the API client must work without WebAssembly (--jitless).
const ENV = { FAKE_NVIDIA_SMI_CAPTURE: path.join(FIXTURES, 'nvidia/capture_h100-80gb-hbm3_590.48.01_linux.txt'), NODE_OPTIONS: '--max-semi-space-size=1 --jitless' };
const TRAINER = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { namespace: 'ml', name: 'trainer-0', uid: '1f6c2a7e-8d4b-4c1a-9e3f-2b5d7c9a0e11' },
  spec: { nodeName: 'gpu-node-1', containers: [{ name: 'main', image: 'x' }] },
  status: { phase: 'Running', containerStatuses: [{ name: 'main', containerID: 'containerd://3b1f0c5e7a9d2f4b6c8e0a1b3d5f7e9c1a2b4d6f8e0c2a4b6d8f0e1c3a5b7d9f', image: 'x', imageID: 'x', ready: true, restartCount: 0 }] },
};
const KUBELET = { pod_resources: [pod('ml', 'trainer-0', [{ name: 'main', devices: [devices('nvidia.com/gpu', GPU)] }])] };
const WINDOW_MS = 10_000;
const apiUp = (b: string) => sampleValue(b, 'accelerator_exporter_kubernetes_api_up');
const apiWarnings = (e: RunningExporter, since: number) => e.logs.slice(since).filter((l) => l.level === 'warn' && /kubernetes api/i.test(String(l.msg))).length;

async function withExporter(api: FakeKubeApi, fn: (e: RunningExporter) => Promise<void>): Promise<void> {
  const kubelet = fakeKubelet(KUBELET);
  await kubelet.start();
  const dir = mkdtempSync(path.join(tmpdir(), 'ae-'));
  const e = await startExporter(
    ['--collect.interval=300ms', `--nvidia-smi.path=${path.join(FAKE_TOOLS, 'nvidia-smi')}`, `--kubelet.pod-resources-socket=${kubelet.socket}`, `--path.procfs=${path.join(FIXTURES, 'procfs/one-pod-one-gpu')}`, `--kubeconfig=${api.kubeconfig(dir)}`, '--kubernetes.node-name=gpu-node-1'],
    ENV,
  );
  try {
    await fn(e);
  } finally {
    await e.stop();
    await kubelet.stop();
    await api.close();
  }
}

/** Requests per path that arrived in [from, from + WINDOW_MS). */
function requestsIn(api: FakeKubeApi, from: number): Map<string, number> {
  const out = new Map<string, number>();
  api.requests.forEach((r, i) => {
    const t = api.requestTimes[i]!;
    if (t < from || t >= from + WINDOW_MS) return;
    const p = r.split('?')[0]!;
    out.set(p, (out.get(p) ?? 0) + 1);
  });
  return out;
}

describe('Kubernetes API server failing with 500', { concurrency: 1 }, () => {
  it('reads as down, backs off, warns once per resource, and resyncs when it recovers', async () => {
    const api = await fakeKubeApi();
    api.set('pods', [TRAINER]);
    await withExporter(api, async (e) => {
      await scrapeUntil(e, 'API synced', (b) => apiUp(b) === 1 && b.includes('pod="trainer-0"'));
      const logsBefore = e.logs.length;
      const t0 = Date.now();
      api.fail(500);
      await scrapeUntil(e, 'API down', (b) => apiUp(b) === 0);
      // Through the window, every scrape reads the API as down: a retried list that fails is not a synced cache.
      const seen = new Set<number | undefined>();
      await waitFor('the failure window', async () => {
        seen.add(apiUp((await e.scrape()).body));
        return Date.now() >= t0 + WINDOW_MS;
      }, WINDOW_MS + 15_000);
      assert.deepEqual([...seen], [0]);
      const counts = requestsIn(api, t0);
      // Back-off from 1 s doubling to 30 s, with jitter: at most 5 attempts per resource in 10 s.
      // A fixed 0.5 s retry makes 20.
      for (const [p, n] of counts) assert.ok(n <= 6, `${n} requests to ${p} in ${WINDOW_MS} ms of 500s: ${JSON.stringify([...counts])}`);
      assert.ok(counts.size > 0, 'the exporter kept retrying');
      assert.ok(apiWarnings(e, logsBefore) <= 3, `warnings are rate-limited: ${JSON.stringify(e.logs.slice(logsBefore).filter((l) => l.level === 'warn'))}`);
      // Kubelet attribution goes on while the API is down.
      assert.equal(sampleValue((await e.scrape()).body, 'accelerator_exporter_kubelet_up'), 1);

      // A change made while the API was failing shows once it answers again.
      api.set('pods', []);
      api.fail(undefined);
      // The processes' pod is gone from the API: they read as unknown_pod once the pods are relisted.
      await scrapeUntil(e, 'API resynced', (b) => apiUp(b) === 1 && (sampleValue(b, 'accelerator_exporter_unattributed_processes', { reason: 'unknown_pod' }) ?? 0) > 0, 60_000);
    });
  });

  it('is not synced when the first list fails', async () => {
    const api = await fakeKubeApi();
    api.set('pods', [TRAINER]);
    api.fail(500);
    await withExporter(api, async (e) => {
      await waitFor('two lists of pods', async () => api.requests.filter((r) => r.startsWith('/api/v1/pods')).length >= 2, 30_000);
      await scrapeUntil(e, 'kubelet attribution', (b) => sampleValue(b, 'accelerator_exporter_kubelet_up') === 1);
      const seen = new Set<number | undefined>();
      const end = Date.now() + 5000;
      await waitFor('5 s of scrapes', async () => {
        seen.add(apiUp((await e.scrape()).body));
        return Date.now() >= end;
      }, 20_000);
      assert.deepEqual([...seen], [0], 'a list that failed is not a synced cache');
      api.fail(undefined);
      await scrapeUntil(e, 'API synced after it recovers', (b) => apiUp(b) === 1, 60_000);
    });
  });
});
