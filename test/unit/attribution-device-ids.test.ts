// Device-plugin ids as the kubelet reports them (formats: NVIDIA/k8s-device-plugin
// internal/rm/devices.go, GKE's nvidia<N>, ROCm/k8s-device-plugin amdgpu.go,
// intel-device-plugins-for-kubernetes gpu_plugin.go; see /work/shared/research/kubernetes-integration.md §3).

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { deviceIdParser, matchDevice, resourceMatcher, sysfsReads } from '../../src/attribution/device-ids.ts';
import { vendorsOf } from '../../src/backends/backend.ts';
import { BACKEND_FACTORIES } from '../../src/backends/registry.ts';
import type { DeviceIdentity } from '../../src/model.ts';

/** A sysfs tree with /sys/class/drm/card1/device -> the PCI device 0000:03:00.0, as the kernel links it. */
function sysfsWithCard1(): string {
  const root = mkdtempSync(path.join(tmpdir(), 'ae-sysfs-'));
  mkdirSync(path.join(root, 'devices/pci0000:00/0000:00:01.0/0000:03:00.0'), { recursive: true });
  mkdirSync(path.join(root, 'class/drm/card1'), { recursive: true });
  symlinkSync('../../../devices/pci0000:00/0000:00:01.0/0000:03:00.0', path.join(root, 'class/drm/card1/device'));
  return root;
}

const NONE = { uuid: '', pciBusId: '', index: '', vendor: '', replica: false, unmatchable: false };
/** The parser of every registered vendor's ids, reading card links under `sysfs`. */
const parseDeviceId = (id: string, sysfs: string) => deviceIdParser(vendorsOf(BACKEND_FACTORIES), sysfsReads(sysfs))(id);

describe('parseDeviceId', () => {
  const sysfs = sysfsWithCard1();
  const cases: [string, object][] = [
    ['GPU-a4f34abc-7715-3560-dcea-7238b9611a45', { ...NONE, uuid: 'GPU-a4f34abc-7715-3560-dcea-7238b9611a45', vendor: 'nvidia', base: 'GPU-a4f34abc-7715-3560-dcea-7238b9611a45' }],
    ['MIG-6b8c3b0a-2f4e-5d1c-9a77-0c1e2d3f4a5b', { ...NONE, uuid: 'MIG-6b8c3b0a-2f4e-5d1c-9a77-0c1e2d3f4a5b', vendor: 'nvidia', base: 'MIG-6b8c3b0a-2f4e-5d1c-9a77-0c1e2d3f4a5b' }],
    ['MIG-GPU-a4f34abc-7715-3560-dcea-7238b9611a45/7/0', { ...NONE, uuid: 'GPU-a4f34abc-7715-3560-dcea-7238b9611a45', vendor: 'nvidia', replica: true, base: 'MIG-GPU-a4f34abc-7715-3560-dcea-7238b9611a45/7/0' }],
    ['GPU-ddf64803-f421-0e5b-883e-cd752de16db7::3', { ...NONE, uuid: 'GPU-ddf64803-f421-0e5b-883e-cd752de16db7', vendor: 'nvidia', replica: true, base: 'GPU-ddf64803-f421-0e5b-883e-cd752de16db7' }],
    ['MIG-6b8c3b0a-2f4e-5d1c-9a77-0c1e2d3f4a5b::7', { ...NONE, uuid: 'MIG-6b8c3b0a-2f4e-5d1c-9a77-0c1e2d3f4a5b', vendor: 'nvidia', replica: true, base: 'MIG-6b8c3b0a-2f4e-5d1c-9a77-0c1e2d3f4a5b' }],
    ['nvidia0', { ...NONE, index: '0', vendor: 'nvidia', base: 'nvidia0' }],
    ['nvidia3/vgpu1', { ...NONE, index: '3', vendor: 'nvidia', base: 'nvidia3/vgpu1' }],
    ['nvidia1/gi0', { ...NONE, index: '1', vendor: 'nvidia', base: 'nvidia1/gi0' }],
    ['0000:19:00.0', { ...NONE, pciBusId: '0000:19:00.0', base: '0000:19:00.0' }],
    ['0000:1B:00.0', { ...NONE, pciBusId: '0000:1b:00.0', base: '0000:1B:00.0' }],
    ['amdgpu_xcp_5', { ...NONE, unmatchable: true, vendor: 'amd', base: 'amdgpu_xcp_5' }],
    ['card1-0', { ...NONE, pciBusId: '0000:03:00.0', vendor: 'intel', base: 'card1-0' }],
    ['card1-3', { ...NONE, pciBusId: '0000:03:00.0', vendor: 'intel', replica: true, base: 'card1-3' }],
    ['card7-0', { ...NONE, vendor: 'intel', base: 'card7-0' }],
    ['all', { ...NONE, base: 'all' }],
  ];
  for (const [id, want] of cases) it(id, () => assert.deepEqual(parseDeviceId(id, sysfs), want));
});

describe('matchDevice', () => {
  const dev = (vendor: string, uuid: string, pciBusId: string, index: string, parentUuid?: string): DeviceIdentity => ({ vendor, uuid, pciBusId, index, model: 'm', ...(parentUuid ? { parentUuid } : {}) }) as DeviceIdentity;
  const H100 = dev('nvidia', 'GPU-00000000-0000-0000-0000-000000000000', '0000:00:09.0', '0');
  const XCP0 = dev('amd', '0x7B1E4A2C9D3F5E60/xcp0', '0000:1b:00.0', '0', '0x7B1E4A2C9D3F5E60');
  const XCP1 = dev('amd', '0x7B1E4A2C9D3F5E60/xcp1', '0000:1b:00.0', '1', '0x7B1E4A2C9D3F5E60');
  const ARC = dev('intel', '0000:03:00.0', '0000:03:00.0', '0');
  const all = [H100, XCP0, XCP1, ARC];
  const sysfs = sysfsWithCard1();
  const m = (id: string) => matchDevice(parseDeviceId(id, sysfs), all)?.uuid;

  it('by uuid, replica, GKE index, PCI address and Intel card', () => {
    assert.equal(m('GPU-00000000-0000-0000-0000-000000000000'), H100.uuid);
    assert.equal(m('GPU-00000000-0000-0000-0000-000000000000::2'), H100.uuid);
    assert.equal(m('nvidia0'), H100.uuid);
    assert.equal(m('nvidia1'), undefined);
    assert.equal(m('card1-0'), ARC.uuid);
  });
  it('an AMD PCI address names the first partition of a partitioned GPU', () => {
    assert.equal(m('0000:1b:00.0'), XCP0.uuid);
  });
  it('amdgpu_xcp_N matches nothing, even a device whose uuid is that word', () => {
    assert.equal(m('amdgpu_xcp_1'), undefined);
    assert.equal(matchDevice(parseDeviceId('amdgpu_xcp_1', sysfs), [dev('amd', 'amdgpu_xcp_1', '', '0')]), undefined);
  });
  it('an unknown id matches a device only by the same uuid', () => {
    assert.equal(matchDevice(parseDeviceId('neuron_device_0', sysfs), [dev('aws', 'neuron_device_0', '', '0')])?.uuid, 'neuron_device_0');
    assert.equal(m('neuron_device_0'), undefined);
  });
});

describe('resourceMatcher', () => {
  it('matches * anywhere, nothing else', () => {
    const is = resourceMatcher('nvidia.com/*, aws.amazon.com/neuron*');
    assert.deepEqual(['nvidia.com/gpu', 'nvidia.com/mig-1g.10gb', 'nvidia.com/gpu.shared', 'aws.amazon.com/neuroncore', 'nvidiaXcom/gpu', 'cpu', 'amd.com/gpu'].map(is), [true, true, true, true, false, false, false]);
  });
});
