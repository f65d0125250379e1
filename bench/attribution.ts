// Attribution refresh cost at a full node: 110 pods (the kubelet's default max-pods), 8 GPUs,
// 50 GPU processes. The join with its /proc/<pid>/cgroup reads runs on every snapshot or
// kubelet change; the kubelet List runs once per --attribution.interval.

import * as grpc from '@grpc/grpc-js';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { joinAttribution } from '../src/attribution/join.ts';
import { lookupPid } from '../src/attribution/cgroup.ts';
import { deviceIdParser, resourceMatcher, sysfsReads } from '../src/attribution/device-ids.ts';
import { podsByUid } from '../src/attribution/kube-api.ts';
import { listPodResources, MAX_RECEIVE_BYTES } from '../src/attribution/pod-resources.ts';
import { vendorsOf } from '../src/backends/backend.ts';
import { BACKEND_FACTORIES } from '../src/backends/registry.ts';
import { emptyDevice, type DeviceSample, type ProcessSample } from '../src/model.ts';
import { devices as devs, fakeKubelet, pod } from '../test/helpers/fake-kubelet.ts';

const PODS = 110;
const GPUS = 8;
const PROCS = 50;

const hex = (n: number, len: number) => n.toString(16).padStart(len, '0');
const uid = (i: number) => `${hex(i, 8)}-0000-4000-8000-${hex(i, 12)}`;
const gpuUuid = (g: number) => `GPU-${hex(g, 8)}-0000-0000-0000-000000000000`;

export async function benchAttribution(): Promise<{ name: string; value: number; unit: string }[]> {
  // 8 GPU pods (one GPU each) among 110; every GPU pod runs 6-7 processes.
  const response = {
    pod_resources: Array.from({ length: PODS }, (_, i) => pod(`ns-${i % 10}`, `pod-${i}`, [{ name: 'main', devices: i < GPUS ? [devs('nvidia.com/gpu', gpuUuid(i))] : [] }, { name: 'sidecar' }])),
  };
  const devices: DeviceSample[] = Array.from({ length: GPUS }, (_, g) => ({ ...emptyDevice({ vendor: 'nvidia', uuid: gpuUuid(g), pciBusId: `0000:${hex(g + 1, 2)}:00.0`, index: String(g), model: 'NVIDIA H100 80GB HBM3' }), utilizationRatio: 0.5 }));
  const procfs = mkdtempSync(path.join(tmpdir(), 'ae-bench-procfs-'));
  const processes: ProcessSample[] = [];
  for (let p = 0; p < PROCS; p++) {
    const g = p % GPUS;
    const pid = 20_000 + p;
    mkdirSync(path.join(procfs, String(pid)));
    writeFileSync(path.join(procfs, String(pid), 'cgroup'), `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid(g).replace(/-/g, '_')}.slice/cri-containerd-${hex(g, 64)}.scope\n`);
    processes.push({ deviceUuid: gpuUuid(g), pid, name: 'python3', memoryUsedBytes: 1 << 30 });
  }
  const apiPods = Array.from({ length: PODS }, (_, i) => ({ metadata: { namespace: `ns-${i % 10}`, name: `pod-${i}`, uid: uid(i) }, spec: { containers: [{ name: 'main' }, { name: 'sidecar' }] }, status: { containerStatuses: [{ name: 'main', containerID: `containerd://${hex(i, 64)}` }] } }));
  const kube = { reachable: true, pods: apiPods, podsByUid: podsByUid(apiPods), sliceDevices: new Map(), claims: [] };

  const kubelet = fakeKubelet(response);
  await kubelet.start();
  const client = new grpc.Client(`unix://${kubelet.socket}`, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': MAX_RECEIVE_BYTES });
  const list = () => listPodResources(client, Date.now() + 10_000);
  try {
    let pods = await list();
    const listReps = 50;
    let t0 = performance.now();
    for (let i = 0; i < listReps; i++) pods = await list();
    const listMs = (performance.now() - t0) / listReps;

    const parseDeviceId = deviceIdParser(vendorsOf(BACKEND_FACTORIES), sysfsReads('/nonexistent'));
    const run = () =>
      joinAttribution({ kubeletUp: true, pods, kube, devices, processes, isCountedResource: resourceMatcher('nvidia.com/*'), isCountedDraDriver: resourceMatcher('gpu.nvidia.com'), lookupPid: (pid) => lookupPid(procfs, pid), parseDeviceId });
    const check = run();
    if (check.containers.length !== GPUS || check.allocations.length !== GPUS) throw new Error(`bench join is wrong: ${check.containers.length} containers, ${check.allocations.length} allocations`);
    const reps = 300;
    for (let i = 0; i < 20; i++) run();
    t0 = performance.now();
    for (let i = 0; i < reps; i++) run();
    const joinMs = (performance.now() - t0) / reps;
    return [
      { name: `join + ${PROCS} cgroup reads (${PODS} pods, ${GPUS} GPUs)`, value: joinMs, unit: 'ms' },
      { name: `kubelet List through the fake kubelet (${PODS} pods)`, value: listMs, unit: 'ms' },
    ];
  } finally {
    client.close();
    await kubelet.stop();
  }
}
