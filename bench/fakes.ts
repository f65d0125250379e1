// What the memory benchmark runs the exporter against: the fake nvidia-smi's
// answers recorded once per GPU count and replayed by a shell script (a
// Node process per tool run would cost the shared benchmark machine more CPU
// than the exporters being measured), and this node's pods as the API holds them.

import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FAKE_TOOLS } from '../test/helpers/exporter.ts';

/**
 * A nvidia-smi that answers each distinct argument list from a file; the
 * first run of an argument list runs the fake nvidia-smi (replaying the
 * capture) and records its output and exit code. Every run is logged to $FAKE_NVIDIA_SMI_LOG.
 */
export function replayingNvidiaSmi(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'nvidia-smi');
  writeFileSync(
    file,
    `#!/bin/sh
cache=${JSON.stringify(dir)}
key=$(printf '%s\\n' "$@" | cksum | cut -d' ' -f1)
if [ -f "$cache/$key.rc" ]; then
  [ -n "$FAKE_NVIDIA_SMI_LOG" ] && printf '%s\\n' "$*" >> "$FAKE_NVIDIA_SMI_LOG"
  cat "$cache/$key.out"
  exit "$(cat "$cache/$key.rc")"
fi
${JSON.stringify(process.execPath)} ${JSON.stringify(path.join(FAKE_TOOLS, 'nvidia-smi'))} "$@" > "$cache/$key.$$.tmp"
rc=$?
mv "$cache/$key.$$.tmp" "$cache/$key.out"
echo "$rc" > "$cache/$key.rc"
cat "$cache/$key.out"
exit "$rc"
`,
  );
  chmodSync(file, 0o755);
  return file;
}

const hex = (n: number, len: number) => n.toString(16).padStart(len, '0');

/**
 * A node's pods as the API returns them, with the fields a real pod carries
 * (labels, owner, managed fields, env, probes, status): the exporter holds
 * them in memory, so their size matters. The first is the pod of the
 * procfs fixture's processes (test/fixtures/procfs/two-pods-one-gpu).
 */
export function nodePods(n: number, nodeName: string): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => {
    const uid = i === 0 ? '1f6c2a7e-8d4b-4c1a-9e3f-2b5d7c9a0e11' : `${hex(i, 8)}-0000-4000-8000-${hex(i, 12)}`;
    const cid = i === 0 ? '3b1f0c5e7a9d2f4b6c8e0a1b3d5f7e9c1a2b4d6f8e0c2a4b6d8f0e1c3a5b7d9f' : hex(i, 64);
    const name = i === 0 ? 'trainer-0' : `workload-${i}-7d9f8b6c5-x2k4p`;
    const ns = i === 0 ? 'ml' : `team-${i % 6}`;
    const time = '2026-11-30T12:00:00Z';
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: ns,
        uid,
        resourceVersion: String(1000 + i),
        creationTimestamp: time,
        generateName: name.replace(/[^-]+$/, ''),
        labels: { app: `workload-${i}`, 'app.kubernetes.io/name': `workload-${i}`, 'pod-template-hash': '7d9f8b6c5' },
        annotations: { 'kubectl.kubernetes.io/restartedAt': time },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `workload-${i}-7d9f8b6c5`, uid: `${hex(i, 8)}-1111-4000-8000-${hex(i, 12)}`, controller: true, blockOwnerDeletion: true }],
        managedFields: [
          { manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'v1', time, fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:generateName': {}, 'f:labels': { '.': {}, 'f:app': {}, 'f:pod-template-hash': {} }, 'f:ownerReferences': {} }, 'f:spec': { 'f:containers': { 'k:{"name":"main"}': { '.': {}, 'f:env': {}, 'f:image': {}, 'f:name': {}, 'f:resources': {} } } } } },
          { manager: 'kubelet', operation: 'Update', apiVersion: 'v1', time, fieldsType: 'FieldsV1', subresource: 'status', fieldsV1: { 'f:status': { 'f:conditions': {}, 'f:containerStatuses': {}, 'f:hostIP': {}, 'f:phase': {}, 'f:podIP': {}, 'f:startTime': {} } } },
        ],
      },
      spec: {
        nodeName,
        serviceAccountName: 'default',
        restartPolicy: 'Always',
        containers: [
          {
            name: 'main',
            image: `registry.example.com/team/workload:${i}.0.1`,
            env: Array.from({ length: 8 }, (_, e) => ({ name: `SETTING_${e}`, value: `value-${e}` })),
            resources: { limits: { cpu: '4', memory: '16Gi', ...(i < 8 ? { 'nvidia.com/gpu': '1' } : {}) }, requests: { cpu: '2', memory: '8Gi' } },
            volumeMounts: [{ name: 'kube-api-access', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }],
            readinessProbe: { httpGet: { path: '/ready', port: 8080 }, periodSeconds: 10 },
          },
        ],
        volumes: [{ name: 'kube-api-access', projected: { sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: 'token' } }] } }],
        tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }],
      },
      status: {
        phase: 'Running',
        hostIP: '10.0.0.5',
        podIP: `10.244.1.${i + 2}`,
        startTime: time,
        qosClass: 'Burstable',
        conditions: ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({ type, status: 'True', lastTransitionTime: time })),
        containerStatuses: [{ name: 'main', containerID: `containerd://${cid}`, image: `registry.example.com/team/workload:${i}.0.1`, imageID: `registry.example.com/team/workload@sha256:${hex(i, 64)}`, ready: true, started: true, restartCount: 0, state: { running: { startedAt: time } } }],
      },
    };
  });
}
