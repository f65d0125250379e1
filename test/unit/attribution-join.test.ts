// joinAttribution(): the join of kubelet allocations, ResourceSlices, pods and cgroups with
// what the backends read. Whole views compared literally.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { migParent } from '../../src/attribution/allocations.ts';
import { joinAttribution, type JoinInput } from '../../src/attribution/join.ts';
import type { CgroupLookup } from '../../src/attribution/cgroup.ts';
import { deviceIdParser, resourceMatcher, sysfsReads } from '../../src/attribution/device-ids.ts';
import { vendorsOf } from '../../src/backends/backend.ts';
import { BACKEND_FACTORIES } from '../../src/backends/registry.ts';
import { claimInfo, podsByUid, sliceDevices, type KubeView } from '../../src/attribution/kube-api.ts';
import type { PodResources } from '../../src/attribution/pod-resources.ts';
import { emptyDevice, type DeviceSample, type ProcessSample } from '../../src/model.ts';
import { FIXTURES } from '../helpers/exporter.ts';
import { parseAllDocuments } from 'yaml';

const GPU0 = 'GPU-13719f71-412c-d11e-b236-a262f530a4fc';
const GPU1 = 'GPU-ddf64803-f421-0e5b-883e-cd752de16db7';
const UID_A = '1f6c2a7e-8d4b-4c1a-9e3f-2b5d7c9a0e11';
const UID_B = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
const CTR_A = 'a'.repeat(64);
const CTR_B = 'b'.repeat(64);
const MIB = 1024 * 1024;

const gpu = (uuid: string, index: string, pci: string, util: number, info: Record<string, string> = {}): DeviceSample => ({ ...emptyDevice({ vendor: 'nvidia', uuid, pciBusId: pci, index, model: 'NVIDIA A100 80GB PCIe' }), info, utilizationRatio: util });
const DEVICES = [gpu(GPU0, '0', '0000:00:05.0', 0.75), gpu(GPU1, '1', '0000:00:06.0', 0.5)];
const proc = (deviceUuid: string, pid: number, mib: number): ProcessSample => ({ deviceUuid, pid, name: 'python3', memoryUsedBytes: mib * MIB });
const plugin = (ns: string, name: string, ctr: string, resource: string, ...ids: string[]): PodResources => ({ namespace: ns, name, containers: [{ name: ctr, devices: [{ resourceName: resource, deviceIds: ids }], dynamicResources: [] }] });
const dra = (ns: string, name: string, ctr: string, claim: string, device: string, shareId?: string): PodResources => ({
  namespace: ns,
  name,
  containers: [{ name: ctr, devices: [], dynamicResources: [{ claimNamespace: ns, claimName: claim, claimResources: [{ driverName: 'gpu.nvidia.com', poolName: 'gpu-node-1', deviceName: device, ...(shareId ? { shareId } : {}) }] }] }],
});

const CGROUPS: Record<number, CgroupLookup> = {
  100: { kind: 'pod', owner: { podUid: UID_A, containerId: CTR_A } },
  101: { kind: 'pod', owner: { podUid: UID_A, containerId: CTR_A } },
  200: { kind: 'pod', owner: { podUid: UID_B, containerId: CTR_B } },
  1: { kind: 'host' },
};

function input(over: Partial<JoinInput>): JoinInput {
  return {
    kubeletUp: true,
    lastRefreshMs: 1_700_000_000_000,
    pods: [],
    devices: DEVICES,
    processes: [],
    isCountedResource: resourceMatcher('nvidia.com/*,amd.com/*,gpu.intel.com/*'),
    isCountedDraDriver: resourceMatcher('gpu.nvidia.com'),
    lookupPid: (pid) => CGROUPS[pid] ?? { kind: 'gone' },
    parseDeviceId: deviceIdParser(vendorsOf(BACKEND_FACTORIES), sysfsReads('/nonexistent')),
    ...over,
  };
}

const alloc = (uuid: string, namespace: string, pod: string, container: string, resource: string, shared = false) => ({ uuid, namespace, pod, container, resource, claimNamespace: '', claim: '', draDriver: '', draPool: '', draDevice: '', shared });
const apiPod = (ns: string, name: string, uid: string, ctr: string, id: string, claims: { claim: string; podClaim: string }[] = []) => ({
  metadata: { namespace: ns, name, uid },
  spec: { containers: [{ name: ctr, resources: { claims: claims.map((c) => ({ name: c.podClaim })) } }] },
  status: { containerStatuses: [{ name: ctr, containerID: `containerd://${id}` }], resourceClaimStatuses: claims.map((c) => ({ name: c.podClaim, resourceClaimName: c.claim })) },
});
const NVIDIA_SLICE = {
  spec: {
    driver: 'gpu.nvidia.com',
    nodeName: 'gpu-node-1',
    pool: { name: 'gpu-node-1', generation: 1, resourceSliceCount: 1 },
    devices: [
      { name: 'gpu-0', attributes: { type: { string: 'gpu' }, uuid: { string: GPU0 }, 'resource.kubernetes.io/pciBusID': { string: '0000:00:05.0' } } },
      { name: 'gpu-1', attributes: { type: { string: 'gpu' }, uuid: { string: GPU1 }, 'resource.kubernetes.io/pciBusID': { string: '0000:00:06.0' } } },
    ],
  },
};
const MIG = 'MIG-6b8c3b0a-2f4e-5d1c-9a77-0c1e2d3f4a5b';
/** NVIDIA_SLICE with more devices (MIG devices) in the same pool. */
const withDevices = (...more: object[]) => ({ spec: { ...NVIDIA_SLICE.spec, devices: [...NVIDIA_SLICE.spec.devices, ...more] } });
function kube(pods: object[], claims: object[] = [], slices: object[] = [NVIDIA_SLICE]): KubeView {
  return { reachable: true, pods: pods as never, podsByUid: podsByUid(pods as never), sliceDevices: sliceDevices(slices as never), claims: claims.map((c) => claimInfo(c as never)) };
}

describe('joinAttribution', () => {
  it('gives the sole holder of a GPU its utilisation and its processes\' memory; the other GPU is unattributed', () => {
    const v = joinAttribution(input({ pods: [plugin('ml', 'trainer-0', 'main', 'nvidia.com/gpu', GPU0)], processes: [proc(GPU0, 100, 2566), proc(GPU0, 101, 1542), proc(GPU1, 1, 300)] }));
    assert.deepEqual(v, {
      kubeletUp: true,
      lastRefreshMs: 1_700_000_000_000,
      allocations: [alloc(GPU0, 'ml', 'trainer-0', 'main', 'nvidia.com/gpu')],
      containers: [{ namespace: 'ml', pod: 'trainer-0', container: 'main', uuid: GPU0, memoryUsedBytes: 4108 * MIB, utilizationRatio: 0.75 }],
      unattributedDevices: 1,
      unattributedProcesses: { host: 1, no_cgroup: 0, unknown_pod: 0 },
      unresolvedAllocations: 0,
    });
  });

  it('never gives utilisation on a device two containers hold; memory is per container (API names the containers)', () => {
    const pods = [plugin('ml', 'trainer-0', 'main', 'nvidia.com/gpu', GPU0), plugin('serving', 'infer-0', 'server', 'nvidia.com/gpu', GPU0)];
    const v = joinAttribution(input({ pods, processes: [proc(GPU0, 100, 1000), proc(GPU0, 200, 2000)], kube: kube([apiPod('ml', 'trainer-0', UID_A, 'main', CTR_A), apiPod('serving', 'infer-0', UID_B, 'server', CTR_B)]) }));
    assert.deepEqual(v.containers, [
      { namespace: 'ml', pod: 'trainer-0', container: 'main', uuid: GPU0, memoryUsedBytes: 1000 * MIB },
      { namespace: 'serving', pod: 'infer-0', container: 'server', uuid: GPU0, memoryUsedBytes: 2000 * MIB },
    ]);
    assert.equal(v.apiUp, true);
  });

  it('gives each container on a shared GPU its own processes\' measured share (NVML process utilisation), never the device value', () => {
    const pods = [plugin('ml', 'trainer-0', 'main', 'nvidia.com/gpu.shared', `${GPU0}::0`), plugin('serving', 'infer-0', 'server', 'nvidia.com/gpu.shared', `${GPU0}::1`)];
    const measured = (p: ProcessSample, share: number): ProcessSample => ({ ...p, utilizationRatio: share });
    const processes = [measured(proc(GPU0, 100, 1000), 0.25), measured(proc(GPU0, 101, 10), 0.1), measured(proc(GPU0, 200, 2000), 0.4)];
    const v = joinAttribution(input({ pods, processes, kube: kube([apiPod('ml', 'trainer-0', UID_A, 'main', CTR_A), apiPod('serving', 'infer-0', UID_B, 'server', CTR_B)]) }));
    assert.deepEqual(v.containers, [
      { namespace: 'ml', pod: 'trainer-0', container: 'main', uuid: GPU0, memoryUsedBytes: 1010 * MIB, utilizationRatio: 0.35 },
      { namespace: 'serving', pod: 'infer-0', container: 'server', uuid: GPU0, memoryUsedBytes: 2000 * MIB, utilizationRatio: 0.4 },
    ]);
  });

  it('a sole holder whose processes are measured gets their share, not the device utilisation', () => {
    const v = joinAttribution(input({ pods: [plugin('ml', 'trainer-0', 'main', 'nvidia.com/gpu', GPU0)], processes: [{ ...proc(GPU0, 100, 512), utilizationRatio: 0.5 }] }));
    assert.deepEqual(v.containers, [{ namespace: 'ml', pod: 'trainer-0', container: 'main', uuid: GPU0, memoryUsedBytes: 512 * MIB, utilizationRatio: 0.5 }]);
  });

  it('never gives utilisation to a time-slicing replica, even the only one', () => {
    const v = joinAttribution(input({ pods: [plugin('ml', 'trainer-0', 'main', 'nvidia.com/gpu.shared', `${GPU0}::3`)], processes: [proc(GPU0, 100, 512)] }));
    assert.deepEqual(v.allocations, [alloc(GPU0, 'ml', 'trainer-0', 'main', 'nvidia.com/gpu.shared', true)]);
    assert.deepEqual(v.containers, [{ namespace: 'ml', pod: 'trainer-0', container: 'main', uuid: GPU0, memoryUsedBytes: 512 * MIB }]);
  });

  it('never gives utilisation to a DRA share (shareID), even the only one', () => {
    const v = joinAttribution(input({ pods: [dra('ml', 'trainer-0', 'main', 'shared-gpu-a', 'gpu-0', '3f0b6c8e-1d2a-4e5f-9a7b-8c6d5e4f3a21')], processes: [proc(GPU0, 100, 512)], kube: kube([apiPod('ml', 'trainer-0', UID_A, 'main', CTR_A)]) }));
    assert.deepEqual(v.allocations, [{ uuid: GPU0, namespace: 'ml', pod: 'trainer-0', container: 'main', resource: '', claimNamespace: 'ml', claim: 'shared-gpu-a', draDriver: 'gpu.nvidia.com', draPool: 'gpu-node-1', draDevice: 'gpu-0', shared: true }]);
    assert.deepEqual(v.containers, [{ namespace: 'ml', pod: 'trainer-0', container: 'main', uuid: GPU0, memoryUsedBytes: 512 * MIB }]);
  });

  it('withholds utilisation when another pod\'s process is on the holder\'s device', () => {
    const v = joinAttribution(input({ pods: [plugin('ml', 'trainer-0', 'main', 'nvidia.com/gpu', GPU0)], processes: [proc(GPU0, 100, 10), proc(GPU0, 200, 20)], kube: kube([apiPod('ml', 'trainer-0', UID_A, 'main', CTR_A), apiPod('serving', 'infer-0', UID_B, 'server', CTR_B)]) }));
    assert.deepEqual(v.containers, [
      { namespace: 'ml', pod: 'trainer-0', container: 'main', uuid: GPU0, memoryUsedBytes: 10 * MIB },
      { namespace: 'serving', pod: 'infer-0', container: 'server', uuid: GPU0, memoryUsedBytes: 20 * MIB },
    ]);
  });

  it('a pod that left: with the API its lingering process is unknown_pod, not the remaining holder\'s', () => {
    const v = joinAttribution(input({ pods: [plugin('ml', 'trainer-0', 'main', 'nvidia.com/gpu.shared', `${GPU0}::0`)], processes: [proc(GPU0, 100, 10), proc(GPU0, 200, 20)], kube: kube([apiPod('ml', 'trainer-0', UID_A, 'main', CTR_A)]) }));
    assert.deepEqual(v.containers, [{ namespace: 'ml', pod: 'trainer-0', container: 'main', uuid: GPU0, memoryUsedBytes: 10 * MIB }]);
    assert.deepEqual(v.unattributedProcesses, { host: 0, no_cgroup: 0, unknown_pod: 1 });
  });

  it('a pod that left: without the API neither process is pinned on the remaining holder', () => {
    const v = joinAttribution(input({ pods: [plugin('ml', 'trainer-0', 'main', 'nvidia.com/gpu', GPU0)], processes: [proc(GPU0, 100, 10), proc(GPU0, 200, 20)] }));
    assert.deepEqual(v.containers, []);
    assert.deepEqual(v.unattributedProcesses, { host: 0, no_cgroup: 0, unknown_pod: 2 });
  });

  it('withholds utilisation when a host process is on the holder\'s device, not when a cgroup is unreadable', () => {
    const pods = [plugin('ml', 'trainer-0', 'main', 'nvidia.com/gpu', GPU0, GPU1)];
    const v = joinAttribution(input({ pods, processes: [proc(GPU0, 100, 10), proc(GPU0, 1, 5), proc(GPU1, 101, 10), proc(GPU1, 4242, 5)] }));
    assert.deepEqual(v.containers, [
      { namespace: 'ml', pod: 'trainer-0', container: 'main', uuid: GPU0, memoryUsedBytes: 10 * MIB },
      { namespace: 'ml', pod: 'trainer-0', container: 'main', uuid: GPU1, memoryUsedBytes: 10 * MIB, utilizationRatio: 0.5 },
    ]);
    assert.deepEqual(v.unattributedProcesses, { host: 1, no_cgroup: 1, unknown_pod: 0 });
  });

  it('counts host processes and processes whose cgroup is gone', () => {
    const v = joinAttribution(input({ processes: [proc(GPU0, 1, 100), proc(GPU1, 4242, 100)] }));
    assert.deepEqual(v.unattributedProcesses, { host: 1, no_cgroup: 1, unknown_pod: 0 });
    assert.equal(v.unattributedDevices, 2);
  });

  it('keeps an id no backend reads, counts it unresolved, and skips resources not counted', () => {
    const v = joinAttribution(input({ pods: [plugin('ml', 'trainer-0', 'main', 'nvidia.com/gpu', 'GPU-ffffffff-0000-0000-0000-000000000000'), plugin('x', 'y', 'z', 'example.com/fpga', GPU1)] }));
    assert.deepEqual(v.allocations, [alloc('GPU-ffffffff-0000-0000-0000-000000000000', 'ml', 'trainer-0', 'main', 'nvidia.com/gpu')]);
    assert.equal(v.unresolvedAllocations, 1);
  });

  it('places a MIG device-plugin allocation on the only MIG-enabled GPU, as a share', () => {
    const devices = [gpu(GPU0, '0', '0000:00:05.0', 0.75), gpu(GPU1, '1', '0000:00:06.0', 0.5, { mig_mode: 'enabled' })];
    const v = joinAttribution(input({ devices, pods: [plugin('batch', 'small-job', 'worker', 'nvidia.com/mig-1g.10gb', 'MIG-6b8c3b0a-2f4e-5d1c-9a77-0c1e2d3f4a5b')], processes: [proc(GPU1, 100, 64)] }));
    assert.deepEqual(v.allocations, [alloc(GPU1, 'batch', 'small-job', 'worker', 'nvidia.com/mig-1g.10gb', true)]);
    assert.deepEqual(v.containers, [{ namespace: 'batch', pod: 'small-job', container: 'worker', uuid: GPU1, memoryUsedBytes: 64 * MIB }]);
    assert.equal(v.unresolvedAllocations, 0);
  });

  it('leaves a MIG allocation unresolved when two GPUs have MIG enabled', () => {
    const devices = [gpu(GPU0, '0', '0000:00:05.0', 0, { mig_mode: 'enabled' }), gpu(GPU1, '1', '0000:00:06.0', 0, { mig_mode: 'enabled' })];
    assert.equal(migParent('MIG-6b8c3b0a-2f4e-5d1c-9a77-0c1e2d3f4a5b', devices), undefined);
    const v = joinAttribution(input({ devices, pods: [plugin('batch', 'small-job', 'worker', 'nvidia.com/mig-1g.10gb', 'MIG-6b8c3b0a-2f4e-5d1c-9a77-0c1e2d3f4a5b')] }));
    assert.deepEqual(v.allocations, [alloc('MIG-6b8c3b0a-2f4e-5d1c-9a77-0c1e2d3f4a5b', 'batch', 'small-job', 'worker', 'nvidia.com/mig-1g.10gb')]);
    assert.equal(v.unresolvedAllocations, 1);
  });

  it('places a DRA MIG device on the GPU its parentUUID names, as a share that holds the GPU', () => {
    // The MIG device's own PCI address is made to match nothing: the parent comes from parentUUID.
    const slice = withDevices({ name: 'gpu-1-mig-1g10gb-19-0', attributes: { type: { string: 'mig' }, uuid: { string: MIG }, parentUUID: { string: GPU1 }, 'resource.kubernetes.io/pciBusID': { string: '0000:00:07.0' } } });
    const v = joinAttribution(input({ pods: [dra('batch', 'small-job', 'worker', 'small-job-mig', 'gpu-1-mig-1g10gb-19-0')], processes: [proc(GPU1, 100, 64), proc(GPU1, 101, 32)], kube: kube([apiPod('batch', 'small-job', UID_A, 'worker', CTR_A)], [], [slice]) }));
    assert.deepEqual(v.allocations, [{ uuid: GPU1, namespace: 'batch', pod: 'small-job', container: 'worker', resource: '', claimNamespace: 'batch', claim: 'small-job-mig', draDriver: 'gpu.nvidia.com', draPool: 'gpu-node-1', draDevice: 'gpu-1-mig-1g10gb-19-0', shared: true }]);
    assert.deepEqual(v.containers, [{ namespace: 'batch', pod: 'small-job', container: 'worker', uuid: GPU1, memoryUsedBytes: 96 * MIB }], 'memory from the processes, never the GPU\'s utilisation');
    assert.equal(v.unresolvedAllocations, 0);
    assert.equal(v.unattributedDevices, 1, 'GPU1 is held; only GPU0 is free');
  });

  it('places a DRA MIG device without parentUUID (older drivers) on the GPU at its PCI address, as a share', () => {
    const slice = withDevices({ name: 'gpu-1-mig-19-0-1', attributes: { type: { string: 'mig' }, uuid: { string: MIG }, pcieBusID: { string: '0000:00:06.0' } } });
    const claim = { metadata: { namespace: 'batch', name: 'small-job-mig' }, status: { allocation: { devices: { results: [{ request: 'mig', driver: 'gpu.nvidia.com', pool: 'gpu-node-1', device: 'gpu-1-mig-19-0-1' }] } }, reservedFor: [{ resource: 'pods', name: 'small-job', uid: UID_A }] } };
    const v = joinAttribution(input({ processes: [proc(GPU1, 100, 64)], kube: kube([apiPod('batch', 'small-job', UID_A, 'worker', CTR_A, [{ claim: 'small-job-mig', podClaim: 'mig' }])], [claim], [slice]) }));
    assert.deepEqual(v.allocations, [{ uuid: GPU1, namespace: 'batch', pod: 'small-job', container: 'worker', resource: '', claimNamespace: 'batch', claim: 'small-job-mig', draDriver: 'gpu.nvidia.com', draPool: 'gpu-node-1', draDevice: 'gpu-1-mig-19-0-1', shared: true }], 'through the reservedFor fallback too');
    assert.deepEqual(v.containers, [{ namespace: 'batch', pod: 'small-job', container: 'worker', uuid: GPU1, memoryUsedBytes: 64 * MIB }]);
  });

  it('keeps a DRA MIG device\'s own uuid, unresolved, when no backend reads its parent', () => {
    const slice = withDevices({ name: 'gpu-2-mig-1g10gb-19-0', attributes: { type: { string: 'mig' }, uuid: { string: MIG }, parentUUID: { string: 'GPU-00000000-0000-0000-0000-00000000000f' }, 'resource.kubernetes.io/pciBusID': { string: '0000:00:07.0' } } });
    const v = joinAttribution(input({ pods: [dra('batch', 'small-job', 'worker', 'small-job-mig', 'gpu-2-mig-1g10gb-19-0')], kube: kube([], [], [slice]) }));
    assert.deepEqual(v.allocations.map((a) => [a.uuid, a.shared]), [[MIG, false]]);
    assert.equal(v.unresolvedAllocations, 1);
    assert.equal(v.unattributedDevices, 2);
  });

  it('reads uuid, parentUUID and the PCI address of the NVIDIA DRA driver\'s slice', () => {
    const [slice] = parseAllDocuments(readFileSync(path.join(FIXTURES, 'k8s/resourceslice-nvidia-gpu.yaml'), 'utf8')).map((d) => d.toJSON());
    assert.deepEqual(Object.fromEntries(sliceDevices([slice])), {
      'gpu.nvidia.com/gpu-node-1/gpu-0': { uuid: GPU0, pciBusId: '0000:00:05.0', parentUuid: '' },
      'gpu.nvidia.com/gpu-node-1/gpu-1-mig-1g10gb-19-0': { uuid: MIG, pciBusId: '0000:00:06.0', parentUuid: GPU1 },
    });
  });

  it('leaves amdgpu_xcp_N unresolved under its own id', () => {
    const amd = [{ ...emptyDevice({ vendor: 'amd', uuid: '0x7B1E4A2C9D3F5E60/xcp0', pciBusId: '0000:1b:00.0', index: '0', model: 'AMD Instinct MI300X', parentUuid: '0x7B1E4A2C9D3F5E60' }) }, { ...emptyDevice({ vendor: 'amd', uuid: '0x7B1E4A2C9D3F5E60/xcp1', pciBusId: '0000:1b:00.0', index: '1', model: 'AMD Instinct MI300X', parentUuid: '0x7B1E4A2C9D3F5E60' }) }];
    const v = joinAttribution(input({ devices: amd, pods: [plugin('a', 'p0', 'c', 'amd.com/gpu', '0000:1b:00.0'), plugin('a', 'p1', 'c', 'amd.com/gpu', 'amdgpu_xcp_0')] }));
    assert.deepEqual(v.allocations, [alloc('0x7B1E4A2C9D3F5E60/xcp0', 'a', 'p0', 'c', 'amd.com/gpu'), alloc('amdgpu_xcp_0', 'a', 'p1', 'c', 'amd.com/gpu')]);
    assert.equal(v.unresolvedAllocations, 1);
    assert.equal(v.unattributedDevices, 1);
  });

  it('ignores an admin-access claim and resolves the workload claim through the slice', () => {
    const admin = { metadata: { namespace: 'gpu-monitoring', name: 'agent-gpus' }, status: { allocation: { devices: { results: [{ request: 'gpus', driver: 'gpu.nvidia.com', pool: 'gpu-node-1', device: 'gpu-0', adminAccess: true }, { request: 'gpus', driver: 'gpu.nvidia.com', pool: 'gpu-node-1', device: 'gpu-1', adminAccess: true }] } } } };
    const pods = [dra('ml', 'trainer-0', 'main', 'trainer-0-gpu-q8w2z', 'gpu-1'), dra('gpu-monitoring', 'agent', 'agent', 'agent-gpus', 'gpu-0')];
    const v = joinAttribution(input({ pods, processes: [proc(GPU1, 100, 8)], kube: kube([apiPod('ml', 'trainer-0', UID_A, 'main', CTR_A)], [admin]) }));
    assert.deepEqual(v.allocations, [{ uuid: GPU1, namespace: 'ml', pod: 'trainer-0', container: 'main', resource: '', claimNamespace: 'ml', claim: 'trainer-0-gpu-q8w2z', draDriver: 'gpu.nvidia.com', draPool: 'gpu-node-1', draDevice: 'gpu-1', shared: false }]);
    assert.deepEqual(v.containers, [{ namespace: 'ml', pod: 'trainer-0', container: 'main', uuid: GPU1, memoryUsedBytes: 8 * MIB, utilizationRatio: 0.5 }]);
    assert.equal(v.unattributedDevices, 1);
  });

  it('falls back to status.reservedFor when the kubelet reports no DRA claims', () => {
    const claim = { metadata: { namespace: 'ml', name: 'trainer-0-gpu-q8w2z' }, status: { allocation: { devices: { results: [{ request: 'gpu', driver: 'gpu.nvidia.com', pool: 'gpu-node-1', device: 'gpu-0' }] } }, reservedFor: [{ resource: 'pods', name: 'trainer-0', uid: UID_A }] } };
    const v = joinAttribution(input({ pods: [], processes: [proc(GPU0, 100, 8)], kube: kube([apiPod('ml', 'trainer-0', UID_A, 'main', CTR_A, [{ claim: 'trainer-0-gpu-q8w2z', podClaim: 'gpu' }])], [claim]) }));
    assert.deepEqual(v.allocations, [{ uuid: GPU0, namespace: 'ml', pod: 'trainer-0', container: 'main', resource: '', claimNamespace: 'ml', claim: 'trainer-0-gpu-q8w2z', draDriver: 'gpu.nvidia.com', draPool: 'gpu-node-1', draDevice: 'gpu-0', shared: false }]);
    assert.deepEqual(v.containers, [{ namespace: 'ml', pod: 'trainer-0', container: 'main', uuid: GPU0, memoryUsedBytes: 8 * MIB, utilizationRatio: 0.75 }]);
  });

  it('reports a DRA device no slice locates with an empty uuid, for a counted driver only', () => {
    const pods = [dra('ml', 'trainer-0', 'main', 'c1', 'gpu-7'), { ...dra('ml', 'other', 'main', 'c2', 'gpu-0'), containers: [{ name: 'main', devices: [], dynamicResources: [{ claimNamespace: 'ml', claimName: 'c2', claimResources: [{ driverName: 'gpu.example.com', poolName: 'p', deviceName: 'd' }] }] }] }];
    const v = joinAttribution(input({ pods, kube: kube([]) }));
    assert.deepEqual(v.allocations.map((a) => [a.pod, a.uuid, a.draDevice]), [['trainer-0', '', 'gpu-7']]);
    assert.equal(v.unresolvedAllocations, 1);
  });
});
