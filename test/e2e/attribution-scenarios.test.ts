// Kubelet scenarios end to end: MIG device-plugin ids and DRA MIG devices on a MIG-enabled H100
// (nvidia-smi reports only the GPU), DRA claims for NVIDIA, AMD and Intel against the ResourceSlices and claims of
// test/fixtures/k8s (resource.k8s.io v1 and v1beta1), an admin-access claim, and the
// status.reservedFor fallback of a kubelet that reports no DRA claims.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { FAKE_TOOLS, FIXTURES, sampleValue, startExporter } from '../helpers/exporter.ts';
import { lintMetrics, normalizeRepeated, scrapeUntil } from '../helpers/golden-e2e.ts';
import { fakeKubeApi } from '../helpers/fake-kube-api.ts';
import { claim, devices, fakeKubelet, pod } from '../helpers/fake-kubelet.ts';
import { assertGolden } from '../helpers/golden.ts';

type Obj = Record<string, any>;
const H100 = 'GPU-00000000-0000-0000-0000-000000000000';
const k8s = (f: string): Obj[] => parseAllDocuments(readFileSync(path.join(FIXTURES, 'k8s', f), 'utf8')).map((d) => d.toJSON() as Obj).filter(Boolean);
const [AMD_CLAIM, NVIDIA_CLAIM, ADMIN_CLAIM] = k8s('resourceclaim-examples.yaml') as [Obj, Obj, Obj];

/** The slices re-pointed at the fake tools' devices (see test/fixtures/k8s/SOURCES.md). */
function slices(): Obj[] {
  const nv = k8s('resourceslice-nvidia-gpu.yaml')[0]!;
  nv.spec.devices[0].attributes.uuid.string = H100;
  nv.spec.devices[0].attributes['resource.kubernetes.io/pciBusID'].string = '0000:00:09.0';
  // The MIG device is carved from the same GPU: parentUUID and the parent's PCI address.
  nv.spec.devices[1].attributes.parentUUID.string = H100;
  nv.spec.devices[1].attributes['resource.kubernetes.io/pciBusID'].string = '0000:00:09.0';
  const amd = k8s('resourceslice-amd-gpu.yaml')[0]!;
  amd.spec.devices[0].name = 'gpu-48-176';
  amd.spec.devices[0].attributes.pciAddr.string = '0000:1B:00.0';
  const intel = k8s('resourceslice-intel-gpu.yaml')[0]!;
  intel.spec.nodeName = 'gpu-node-1';
  intel.spec.devices[1].attributes['resource.kubernetes.io/pciBusID'].string = '0000:29:00.0';
  return [nv, amd, intel];
}

const toV1beta1 = (s: Obj): Obj => ({ ...s, apiVersion: 'resource.k8s.io/v1beta1', spec: { ...s.spec, devices: s.spec.devices.map((d: Obj) => ({ name: d.name, basic: { attributes: d.attributes, capacity: d.capacity } })) } });

const NVIDIA_ENV = (capture: string) => ({ FAKE_NVIDIA_SMI_CAPTURE: path.join(FIXTURES, 'nvidia', capture) });
const AMD_ENV = {
  FAKE_AMD_SMI_STATIC: path.join(FIXTURES, 'amd/constructed_amd-smi_static_json__rocm7-gpu_data__mi300x-cpx.json'),
  FAKE_AMD_SMI_METRIC: path.join(FIXTURES, 'amd/constructed_amd-smi_metric_json__rocm7-gpu_data__mi300x-cpx.json'),
  FAKE_AMD_SMI_PROCESS: path.join(FIXTURES, 'amd/constructed_amd-smi_process_json__rocm7-bare-array__mi300x-cpx.json'),
};
const INTEL_ENV = {
  FAKE_XPU_SMI_DISCOVERY: path.join(FIXTURES, 'intel/xpu-smi_discovery_j__DataCenterGPUMax1100_2x__slurm-monitor.json'),
  FAKE_XPU_SMI_DETAIL: path.join(FIXTURES, 'intel/xpu-smi_discovery_d0_j__DataCenterGPUMax1100__slurm-monitor.json'),
  FAKE_XPU_SMI_DUMP: path.join(FIXTURES, 'intel/xpu-smi_dump_csv__DataCenterGPUMax1100_2x__slurm-monitor.csv'),
};
const COMMON = ['--collect.interval=500ms', '--collect.timeout=20s', '--kubernetes.node-name=gpu-node-1', `--path.procfs=${path.join(FIXTURES, 'procfs/two-pods-one-gpu')}`];
const alloc = (b: string, labels: Record<string, string>) => sampleValue(b, 'accelerator_allocation_info', labels);

describe('attribution scenarios end to end', { concurrency: 1 }, () => {
  it('DRA on v1: NVIDIA and Intel claims from the kubelet, AMD from status.reservedFor, admin access ignored', async () => {
    const kubelet = fakeKubelet({
      pod_resources: [
        pod('gpu-test1', 'pod1', [{ name: 'ctr', dynamic_resources: [claim('gpu-test1', 'pod1-gpu-q8w2z', 'gpu.nvidia.com', 'gpu-node-1', 'gpu-0')] }]),
        pod('default', 'intel-pod', [{ name: 'with-resource', dynamic_resources: [claim('default', 'claim1', 'gpu.intel.com', 'rpl-s', '0000-04-00-0-0xe211')] }]),
        pod('gpu-monitoring', 'gpu-agent-x2k4p', [{ name: 'agent', dynamic_resources: [{ ...claim('gpu-monitoring', 'gpu-agent-x2k4p-gpus-m7c5v', 'gpu.nvidia.com', 'gpu-node-1', 'gpu-0'), claim_resources: ['gpu-0', 'gpu-1'].map((d) => ({ driver_name: 'gpu.nvidia.com', pool_name: 'gpu-node-1', device_name: d })) }] }]),
        // A kubelet before 1.34 lists the pod but not its claim.
        pod('gpu-test', 'pod1', [{ name: 'ctr0' }]),
      ],
    });
    await kubelet.start();
    const api = await fakeKubeApi();
    const amdPod = { apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'gpu-test', name: 'pod1', uid: 'fd805c5d-54dd-4119-a839-35c5f52e2290' }, spec: { nodeName: 'gpu-node-1', containers: [{ name: 'ctr0', resources: { claims: [{ name: 'gpu' }] } }] }, status: { resourceClaimStatuses: [{ name: 'gpu', resourceClaimName: 'pod1-gpu-4xk9d' }] } };
    api.set('pods', [amdPod]);
    api.set('resourceslices', slices());
    api.set('resourceclaims', [AMD_CLAIM, NVIDIA_CLAIM, ADMIN_CLAIM]);
    const e = await startExporter(
      [...COMMON, `--nvidia-smi.path=${path.join(FAKE_TOOLS, 'nvidia-smi')}`, `--amd-smi.path=${path.join(FAKE_TOOLS, 'amd-smi')}`, `--xpu-smi.path=${path.join(FAKE_TOOLS, 'xpu-smi')}`, `--kubelet.pod-resources-socket=${kubelet.socket}`, `--kubeconfig=${api.kubeconfig(mkdtempSync(path.join(tmpdir(), 'ae-')))}`],
      { ...NVIDIA_ENV('capture_h100-80gb-hbm3_590.48.01_linux.txt'), ...AMD_ENV, ...INTEL_ENV },
    );
    try {
      const body = await scrapeUntil(e, 'three vendors attributed', (b) => sampleValue(b, 'accelerator_exporter_kubernetes_api_up') === 1 && alloc(b, { claim: 'pod1-gpu-4xk9d' }) === 1 && alloc(b, { claim: 'claim1' }) === 1 && alloc(b, { claim: 'pod1-gpu-q8w2z' }) === 1 && b.includes('vendor="intel"') && b.includes('vendor="amd"'));
      assert.equal(alloc(body, { claim: 'pod1-gpu-q8w2z', uuid: H100, pod: 'pod1', container: 'ctr' }), 1);
      assert.equal(alloc(body, { claim: 'pod1-gpu-4xk9d', uuid: '0x7B1E4A2C9D3F5E60/xcp0', namespace: 'gpu-test', container: 'ctr0' }), 1, 'AMD pciAddr -> the partition at that BDF, found through reservedFor');
      assert.equal(alloc(body, { claim: 'claim1', uuid: '00000000-0000-0029-0000-002f0bda8086' }), 1, 'Intel pciBusID -> the xpu-smi device at that BDF');
      assert.ok(!body.includes('gpu-agent'), 'an admin-access claim is no allocation');
      assertGolden('attribution/dra-three-vendors-v1.prom', normalizeRepeated(body));
      lintMetrics('attribution', body);
    } finally {
      await e.stop();
      await kubelet.stop();
      await api.close();
    }
  });

  it('MIG through DRA alone on v1: the claim holds its parent GPU as a share', async () => {
    const kubelet = fakeKubelet({ pod_resources: [pod('gpu-test1', 'pod1', [{ name: 'ctr', dynamic_resources: [claim('gpu-test1', 'pod1-gpu-q8w2z', 'gpu.nvidia.com', 'gpu-node-1', 'gpu-1-mig-1g10gb-19-0')] }])] });
    await kubelet.start();
    const api = await fakeKubeApi();
    api.set('pods', []);
    api.set('resourceslices', [slices()[0]!]);
    api.set('resourceclaims', []);
    const e = await startExporter(
      [...COMMON, `--nvidia-smi.path=${path.join(FAKE_TOOLS, 'nvidia-smi')}`, `--kubelet.pod-resources-socket=${kubelet.socket}`, `--kubeconfig=${api.kubeconfig(mkdtempSync(path.join(tmpdir(), 'ae-')))}`],
      NVIDIA_ENV('capture_h100-80gb-hbm3-mig_590.48.01_linux.txt'),
    );
    try {
      const body = await scrapeUntil(e, 'DRA MIG attributed', (b) => sampleValue(b, 'accelerator_exporter_kubernetes_api_up') === 1 && alloc(b, { claim: 'pod1-gpu-q8w2z', uuid: H100 }) === 1);
      assert.equal(sampleValue(body, 'accelerator_exporter_unattributed_devices'), 0, 'the MIG claim holds its parent GPU');
      assert.equal(sampleValue(body, 'accelerator_exporter_unresolved_allocations'), 0);
      assert.equal(sampleValue(body, 'accelerator_container_utilization_ratio'), undefined, 'a MIG device never gets the GPU\'s utilisation');
      assertGolden('attribution/dra-mig-v1.prom', normalizeRepeated(body));
      lintMetrics('attribution', body);
    } finally {
      await e.stop();
      await kubelet.stop();
      await api.close();
    }
  });

  it('MIG on a 1.32 cluster: device-plugin MIG ids on the MIG-enabled GPU, a DRA claim through a v1beta1 slice', async () => {
    const kubelet = fakeKubelet({
      pod_resources: [
        pod('batch', 'small-job-xyz12', [{ name: 'worker', devices: [devices('nvidia.com/mig-1g.10gb', 'MIG-00000002-0000-0000-0000-000000000002')] }]),
        pod('batch', 'mid-job-abc34', [{ name: 'worker', devices: [devices('nvidia.com/mig-3g.40gb', 'MIG-00000000-0000-0000-0000-000000000000')] }]),
        pod('gpu-test1', 'pod1', [{ name: 'ctr', dynamic_resources: [claim('gpu-test1', 'pod1-gpu-q8w2z', 'gpu.nvidia.com', 'gpu-node-1', 'gpu-1-mig-1g10gb-19-0')] }]),
      ],
    });
    await kubelet.start();
    const api = await fakeKubeApi({ resourceVersion: 'v1beta1' });
    api.set('pods', []);
    api.set('resourceslices', [toV1beta1(slices()[0]!)]);
    api.set('resourceclaims', []);
    const e = await startExporter(
      [...COMMON, `--nvidia-smi.path=${path.join(FAKE_TOOLS, 'nvidia-smi')}`, `--kubelet.pod-resources-socket=${kubelet.socket}`, `--kubeconfig=${api.kubeconfig(mkdtempSync(path.join(tmpdir(), 'ae-')))}`],
      NVIDIA_ENV('capture_h100-80gb-hbm3-mig_590.48.01_linux.txt'),
    );
    try {
      const body = await scrapeUntil(e, 'MIG attributed', (b) => sampleValue(b, 'accelerator_exporter_kubernetes_api_up') === 1 && alloc(b, { pod: 'small-job-xyz12', uuid: H100 }) === 1 && alloc(b, { claim: 'pod1-gpu-q8w2z' }) === 1);
      assert.equal(alloc(body, { pod: 'mid-job-abc34', uuid: H100, resource: 'nvidia.com/mig-3g.40gb' }), 1);
      // nvidia-smi does not report the DRA MIG device: its slice's parentUUID places it on the H100.
      assert.equal(alloc(body, { claim: 'pod1-gpu-q8w2z', uuid: H100, dra_device: 'gpu-1-mig-1g10gb-19-0' }), 1);
      assert.equal(sampleValue(body, 'accelerator_exporter_unresolved_allocations'), 0);
      assert.equal(sampleValue(body, 'accelerator_container_utilization_ratio'), undefined, 'a MIG slice never gets the GPU\'s utilisation');
      assertGolden('attribution/mig-v1beta1.prom', normalizeRepeated(body));
      lintMetrics('attribution', body);
    } finally {
      await e.stop();
      await kubelet.stop();
      await api.close();
    }
  });
});
