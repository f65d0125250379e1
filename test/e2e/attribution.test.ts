// End to end: the real exporter with the fake nvidia-smi (H100 capture: 3
// processes on one GPU), a fake kubelet on a unix socket, a fake Kubernetes
// API on loopback and procfs fixture trees placing the processes in two pods.

import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { FAKE_TOOLS, FIXTURES, sampleValue, startExporter } from '../helpers/exporter.ts';
import { lintMetrics, normalizeRepeated, scrapeUntil } from '../helpers/golden-e2e.ts';
import { fakeKubeApi } from '../helpers/fake-kube-api.ts';
import { claim, devices, fakeKubelet, pod } from '../helpers/fake-kubelet.ts';
import { assertGolden } from '../helpers/golden.ts';

const GPU = 'GPU-00000000-0000-0000-0000-000000000000';
const MIB = 1024 * 1024;
const PROCFS = path.join(FIXTURES, 'procfs/two-pods-one-gpu');
const ENV = { FAKE_NVIDIA_SMI_CAPTURE: path.join(FIXTURES, 'nvidia/capture_h100-80gb-hbm3_590.48.01_linux.txt') };

const apiPod = (ns: string, name: string, uid: string, ctr: string, containerID: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { namespace: ns, name, uid },
  spec: { nodeName: 'gpu-node-1', containers: [{ name: ctr, image: 'x' }] },
  status: { phase: 'Running', containerStatuses: [{ name: ctr, containerID, image: 'x', imageID: 'x', ready: true, restartCount: 0 }] },
});
const TRAINER = apiPod('ml', 'trainer-0', '1f6c2a7e-8d4b-4c1a-9e3f-2b5d7c9a0e11', 'main', 'containerd://3b1f0c5e7a9d2f4b6c8e0a1b3d5f7e9c1a2b4d6f8e0c2a4b6d8f0e1c3a5b7d9f');
const INFER = apiPod('serving', 'infer-0', '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d', 'server', 'cri-o://a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90');

const SHARED = {
  pod_resources: [
    pod('ml', 'trainer-0', [{ name: 'main', devices: [devices('nvidia.com/gpu.shared', `${GPU}::0`)] }, { name: 'sidecar' }]),
    pod('serving', 'infer-0', [{ name: 'server', devices: [devices('nvidia.com/gpu.shared', `${GPU}::1`)] }]),
  ],
};

describe('attribution end to end', { concurrency: 1 }, () => {
  it('splits a shared GPU per pod, follows a pod that leaves, survives the kubelet going away', async () => {
    const kubelet = fakeKubelet(SHARED);
    await kubelet.start();
    const api = await fakeKubeApi();
    api.set('pods', [TRAINER, INFER]);
    const dir = mkdtempSync(path.join(tmpdir(), 'ae-'));
    const e = await startExporter(
      ['--collect.interval=300ms', `--nvidia-smi.path=${path.join(FAKE_TOOLS, 'nvidia-smi')}`, `--kubelet.pod-resources-socket=${kubelet.socket}`, `--path.procfs=${PROCFS}`, `--kubeconfig=${api.kubeconfig(dir)}`, '--kubernetes.node-name=gpu-node-1'],
      ENV,
    );
    const mem = (b: string, pod: string) => sampleValue(b, 'accelerator_container_memory_usage_bytes', { pod });
    try {
      const shared = await scrapeUntil(e, 'both pods attributed', (b) => mem(b, 'infer-0') !== undefined && mem(b, 'trainer-0') !== undefined && sampleValue(b, 'accelerator_exporter_kubernetes_api_up') === 1);
      assert.equal(mem(shared, 'trainer-0'), (2566 + 1542) * MIB);
      assert.equal(mem(shared, 'infer-0'), 15690 * MIB);
      assert.equal(sampleValue(shared, 'accelerator_container_utilization_ratio'), undefined, 'a shared GPU gives no container its utilisation');
      assertGolden('attribution/shared-gpu.prom', normalizeRepeated(shared));
      lintMetrics('attribution', shared);

      // infer-0 leaves: its allocation and pod go; its process lingers but is not pinned on trainer-0.
      kubelet.response = { pod_resources: [SHARED.pod_resources[0]] };
      api.set('pods', [TRAINER]);
      const left = await scrapeUntil(e, 'infer-0 gone', (b) => !b.includes('pod="infer-0"') && sampleValue(b, 'accelerator_exporter_kubernetes_api_up') === 1 && sampleValue(b, 'accelerator_exporter_unattributed_processes', { reason: 'unknown_pod' }) === 1);
      assertGolden('attribution/pod-left.prom', normalizeRepeated(left));

      await kubelet.stop();
      const down = await scrapeUntil(e, 'kubelet down', (b) => sampleValue(b, 'accelerator_exporter_kubelet_up') === 0);
      assert.equal(sampleValue(down, 'accelerator_allocation_info'), undefined);
      assert.equal(sampleValue(down, 'hw_gpu_utilization_ratio'), 1, 'device metrics never stop');
      await kubelet.start();
      await scrapeUntil(e, 'kubelet back', (b) => sampleValue(b, 'accelerator_exporter_kubelet_up') === 1 && sampleValue(b, 'accelerator_allocation_info', { pod: 'trainer-0' }) === 1);
    } finally {
      await e.stop();
      await kubelet.stop();
      await api.close();
    }
  });

  it('resolves a DRA claim through a ResourceSlice and gives the sole holder its utilisation', async () => {
    const kubelet = fakeKubelet({
      pod_resources: [
        pod('ml', 'trainer-0', [{ name: 'main', dynamic_resources: [claim('ml', 'trainer-0-gpu-q8w2z', 'gpu.nvidia.com', 'gpu-node-1', 'gpu-0')] }]),
        // The monitoring pod's admin-access claim sees the GPU without using it.
        pod('gpu-monitoring', 'gpu-agent-x2k4p', [{ name: 'agent', dynamic_resources: [claim('gpu-monitoring', 'gpu-agent-x2k4p-gpus-m7c5v', 'gpu.nvidia.com', 'gpu-node-1', 'gpu-0')] }]),
      ],
    });
    await kubelet.start();
    const api = await fakeKubeApi();
    api.set('pods', [TRAINER]);
    api.set('resourceslices', [
      {
        apiVersion: 'resource.k8s.io/v1',
        kind: 'ResourceSlice',
        metadata: { name: 'gpu-node-1-gpu.nvidia.com-7xq2m' },
        spec: { driver: 'gpu.nvidia.com', nodeName: 'gpu-node-1', pool: { name: 'gpu-node-1', generation: 1, resourceSliceCount: 1 }, devices: [{ name: 'gpu-0', attributes: { type: { string: 'gpu' }, uuid: { string: GPU }, 'resource.kubernetes.io/pciBusID': { string: '0000:00:09.0' } } }] },
      },
    ]);
    api.set('resourceclaims', [
      {
        apiVersion: 'resource.k8s.io/v1',
        kind: 'ResourceClaim',
        metadata: { namespace: 'gpu-monitoring', name: 'gpu-agent-x2k4p-gpus-m7c5v' },
        spec: { devices: { requests: [] } },
        status: { allocation: { devices: { results: [{ request: 'gpus', driver: 'gpu.nvidia.com', pool: 'gpu-node-1', device: 'gpu-0', adminAccess: true }] } } },
      },
    ]);
    const dir = mkdtempSync(path.join(tmpdir(), 'ae-'));
    const e = await startExporter(
      ['--collect.interval=300ms', `--nvidia-smi.path=${path.join(FAKE_TOOLS, 'nvidia-smi')}`, `--kubelet.pod-resources-socket=${kubelet.socket}`, `--path.procfs=${path.join(FIXTURES, 'procfs/one-pod-one-gpu')}`, `--kubeconfig=${api.kubeconfig(dir)}`, '--kubernetes.node-name=gpu-node-1'],
      ENV,
    );
    try {
      const body = await scrapeUntil(e, 'DRA resolved', (b) => sampleValue(b, 'accelerator_allocation_info', { uuid: GPU, claim: 'trainer-0-gpu-q8w2z' }) === 1 && sampleValue(b, 'accelerator_exporter_kubernetes_api_up') === 1 && !b.includes('gpu-agent') && b.includes('accelerator_container_utilization_ratio'));
      assert.equal(sampleValue(body, 'accelerator_container_utilization_ratio', { pod: 'trainer-0', uuid: GPU }), 1);
      assertGolden('attribution/dra-sole-holder.prom', normalizeRepeated(body));
      lintMetrics('attribution', body);
    } finally {
      await e.stop();
      await kubelet.stop();
      await api.close();
    }
  });
});
