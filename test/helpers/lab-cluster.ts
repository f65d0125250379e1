// The workloads of the observability lab (test/helpers/observability-lab.ts):
// what each node's kubelet answers to PodResources List and what the
// Kubernetes API holds for it. The exporters join these with the fake
// nvidia-smi's devices and processes and the procfs fixture trees, so every
// per-workload series in the lab is the exporter's own.
//
// gpu-node-a (DRA, NVIDIA driver gpu.nvidia.com, pool = node name as that driver names it):
//   gpu-0 (GPU-...0000) held alone by ml/train-0 through its own claim; the H100
//     load capture's three processes (pids 11327, 11328, 11345) run in it.
//   gpu-1 (GPU-...0001) shared by both pods of the serve/infer Deployment through one
//     ResourceClaim they both reference; the fake nvidia-smi's copies of the processes
//     run there: 111327 and 111328 in infer-6d8f7c9b5-k2x7q, 111345 in infer-6d8f7c9b5-p9w4n.
// gpu-node-b (device plugin nvidia.com/gpu, no Kubernetes API access configured):
//   GPU-...0000 allocated to notebooks/jupyter-alice and idle; GPU-...0001 free; the third lost.
//
// Pod UIDs and container ids match test/fixtures/procfs/gpu-node-a (see SOURCES.md there).

import { claim, devices, pod } from './fake-kubelet.ts';

type Obj = Record<string, unknown>;

export const GPU0 = 'GPU-00000000-0000-0000-0000-000000000000';
export const GPU1 = 'GPU-00000000-0000-0000-0000-000000000001';
export const INFER_PODS = ['infer-6d8f7c9b5-k2x7q', 'infer-6d8f7c9b5-p9w4n'] as const;

const DRIVER = 'gpu.nvidia.com';
const NODE_A = 'gpu-node-a';
const TRAIN_CLAIM = 'train-0-gpu-7kq4d';
const SHARED_CLAIM = 'infer-shared-gpu';

const apiPod = (namespace: string, name: string, uid: string, container: string, containerID: string, claimName: string): Obj => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { namespace, name, uid },
  spec: { nodeName: NODE_A, containers: [{ name: container, image: 'registry.example/app', resources: { claims: [{ name: 'gpu' }] } }], resourceClaims: [{ name: 'gpu', resourceClaimName: claimName }] },
  status: {
    phase: 'Running',
    resourceClaimStatuses: [{ name: 'gpu', resourceClaimName: claimName }],
    containerStatuses: [{ name: container, containerID, image: 'registry.example/app', imageID: 'registry.example/app@sha256:0', ready: true, restartCount: 0 }],
  },
});

const TRAIN = apiPod('ml', 'train-0', '4c1e9b2a-7d3f-4e5a-8b6c-0d2e4f6a8b10', 'trainer', 'containerd://d7a00c45dccaa30fdb17e46bb917c7295be14efb09772e6a735d6104fa5e1bf1', TRAIN_CLAIM);
const INFER_K = apiPod('serve', INFER_PODS[0], '7e2a4c6b-1d3f-4a5b-9c7d-2e4f6a8b0c12', 'server', 'containerd://5e335d56b8096d5f56e662f35aa345546a425ef6e2f40c37ed0b25e255bfd6c2', SHARED_CLAIM);
const INFER_P = apiPod('serve', INFER_PODS[1], 'a3b5c7d9-2e4f-4a6b-8c0d-3f5a7b9c1d34', 'server', 'containerd://3639a085bd383a29fad8fd8c47ad0ba069e76645a28779556ab26c6634affb28', SHARED_CLAIM);

const uidOf = (p: Obj) => (p.metadata as { uid: string }).uid;
const nameOf = (p: Obj) => (p.metadata as { name: string }).name;

const resourceClaim = (namespace: string, name: string, device: string, holders: Obj[]): Obj => ({
  apiVersion: 'resource.k8s.io/v1',
  kind: 'ResourceClaim',
  metadata: { namespace, name },
  spec: { devices: { requests: [{ name: 'gpu', exactly: { deviceClassName: 'gpu.nvidia.com' } }] } },
  status: {
    allocation: { devices: { results: [{ request: 'gpu', driver: DRIVER, pool: NODE_A, device }] } },
    reservedFor: holders.map((p) => ({ resource: 'pods', name: nameOf(p), uid: uidOf(p) })),
  },
});

/** The slice the NVIDIA DRA driver publishes for gpu-node-a; uuids and bus ids are the fake nvidia-smi's. */
const SLICE: Obj = {
  apiVersion: 'resource.k8s.io/v1',
  kind: 'ResourceSlice',
  metadata: { name: `${NODE_A}-${DRIVER}-4mz8t` },
  spec: {
    driver: DRIVER,
    nodeName: NODE_A,
    pool: { name: NODE_A, generation: 1, resourceSliceCount: 1 },
    devices: [
      { name: 'gpu-0', attributes: { type: { string: 'gpu' }, productName: { string: 'NVIDIA H100 80GB HBM3' }, uuid: { string: GPU0 }, 'resource.kubernetes.io/pciBusID': { string: '0000:00:09.0' } } },
      { name: 'gpu-1', attributes: { type: { string: 'gpu' }, productName: { string: 'NVIDIA H100 80GB HBM3' }, uuid: { string: GPU1 }, 'resource.kubernetes.io/pciBusID': { string: '0000:11:09.0' } } },
    ],
  },
};

export interface NodeWorkloads {
  /** proto-loader ListPodResourcesResponse. */
  readonly podResources: Obj;
  /** What the API serves for this node, or none: the exporter then runs without API access. */
  readonly api?: { readonly pods: Obj[]; readonly resourceslices: Obj[]; readonly resourceclaims: Obj[] };
  /** procfs fixture tree placing the node's GPU processes in their containers. */
  readonly procfs?: string;
}

export const WORKLOADS: Record<'gpu-node-a' | 'gpu-node-b', NodeWorkloads> = {
  'gpu-node-a': {
    podResources: {
      pod_resources: [
        pod('ml', 'train-0', [{ name: 'trainer', dynamic_resources: [claim('ml', TRAIN_CLAIM, DRIVER, NODE_A, 'gpu-0')] }]),
        ...INFER_PODS.map((name) => pod('serve', name, [{ name: 'server', dynamic_resources: [claim('serve', SHARED_CLAIM, DRIVER, NODE_A, 'gpu-1')] }])),
      ],
    },
    api: {
      pods: [TRAIN, INFER_K, INFER_P],
      resourceslices: [SLICE],
      resourceclaims: [resourceClaim('ml', TRAIN_CLAIM, 'gpu-0', [TRAIN]), resourceClaim('serve', SHARED_CLAIM, 'gpu-1', [INFER_K, INFER_P])],
    },
    procfs: 'procfs/gpu-node-a',
  },
  'gpu-node-b': {
    podResources: { pod_resources: [pod('notebooks', 'jupyter-alice', [{ name: 'notebook', devices: [devices('nvidia.com/gpu', GPU0)] }])] },
  },
};
