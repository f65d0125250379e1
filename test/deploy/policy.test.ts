// Hardening of every rendered DaemonSet: what docs/install.md promises about
// privileges must hold for the base, each overlay and each example.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KUBECTL_MISSING, describe, kubectlAvailable, kustomizeTargets, render, type K8sObject } from './kustomize.ts';

const skip = kubectlAvailable() ? false : KUBECTL_MISSING;
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding']);
/** Node labels that say a node has NVIDIA GPUs (NFD, GPU feature discovery, the clouds), or that the admin chose it. */
const NVIDIA_NODE_LABELS = new Set([
  'nvidia.com/gpu.present',
  'feature.node.kubernetes.io/pci-10de.present',
  'cloud.google.com/gke-accelerator',
  'karpenter.k8s.aws/instance-gpu-manufacturer',
  'eks.amazonaws.com/instance-gpu-manufacturer',
  'kubernetes.azure.com/accelerator',
  'accelerator-exporter/schedule',
]);

function daemonSet(objects: K8sObject[]): K8sObject {
  const sets = objects.filter((o) => o.kind === 'DaemonSet');
  assert.equal(sets.length, 1, 'exactly one DaemonSet');
  return sets[0]!;
}

for (const target of kustomizeTargets()) {
  test(`daemonset/${target}: hardened DaemonSet`, { skip }, () => {
    const objects = render(target);
    const pod = daemonSet(objects).spec.template.spec;

    assert.equal(pod.hostPID ?? false, target === 'overlays/process-attribution', 'hostPID only in process-attribution');
    // Something other than node must be PID 1 to reap a tool's orphans: the pause
    // container, or the host's init with hostPID (Kubernetes refuses both).
    assert.equal(pod.shareProcessNamespace ?? false, !(pod.hostPID ?? false), 'shareProcessNamespace exactly when not hostPID');
    assert.equal(pod.hostNetwork ?? false, false, 'no hostNetwork');
    assert.equal(pod.hostIPC ?? false, false, 'no hostIPC');
    assert.equal(pod.priorityClassName, 'system-node-critical');
    assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault');
    assert.equal(pod.automountServiceAccountToken ?? true, true, 'token needed for the read-only API watches');

    const containers = [...(pod.initContainers ?? []), ...pod.containers];
    for (const c of containers) {
      const sc = c.securityContext ?? {};
      assert.equal(sc.privileged ?? false, false, `${c.name}: not privileged`);
      assert.equal(sc.allowPrivilegeEscalation, false, `${c.name}: allowPrivilegeEscalation false`);
      assert.equal(sc.readOnlyRootFilesystem, true, `${c.name}: readOnlyRootFilesystem`);
      assert.deepEqual(sc.capabilities?.drop, ['ALL'], `${c.name}: drops ALL capabilities`);
      assert.deepEqual(sc.capabilities?.add ?? [], [], `${c.name}: adds no capability`);
      assert.equal(sc.seccompProfile?.type, 'RuntimeDefault');
      assert.ok(c.resources?.requests?.cpu, `${c.name}: CPU request`);
      assert.ok(c.resources?.requests?.memory, `${c.name}: memory request`);
      assert.equal(c.resources?.limits?.cpu, undefined, `${c.name}: no CPU limit (throttles scrapes)`);
      assert.equal(c.resources?.limits?.memory, '160Mi', `${c.name}: memory limit`);
    }

    const exporter = pod.containers.find((c: any) => c.name === 'exporter');
    assert.deepEqual(exporter.ports, [{ name: 'metrics', containerPort: 9477, protocol: 'TCP' }]);
    // With a web config the port speaks only HTTPS; the probe paths need no credentials.
    const webConfig = exporter.args.find((a: string) => a.startsWith('--web.config.file='))?.slice('--web.config.file='.length);
    const scheme = webConfig ? { scheme: 'HTTPS' } : {};
    assert.deepEqual(exporter.livenessProbe.httpGet, { path: '/healthz', port: 'metrics', ...scheme });
    assert.deepEqual(exporter.readinessProbe.httpGet, { path: '/readyz', port: 'metrics', ...scheme });
    assert.deepEqual(exporter.startupProbe.httpGet, { path: '/healthz', port: 'metrics', ...scheme });
    assert.ok(exporter.args.includes('--web.listen-address=:9477'));
    if (webConfig) {
      // The file and the certificates come from Secrets, mounted read-only where the flag points.
      const mount = exporter.volumeMounts.find((m: any) => webConfig.startsWith(`${m.mountPath}/`));
      assert.equal(mount?.readOnly, true, 'web config mounted read-only');
      assert.ok(pod.volumes.find((v: any) => v.name === mount.name)?.secret?.secretName, 'web config from a Secret');
      const tls = exporter.volumeMounts.find((m: any) => m.name === 'web-tls');
      assert.equal(tls?.readOnly, true);
      assert.equal(pod.volumes.find((v: any) => v.name === 'web-tls')?.secret?.secretName, 'accelerator-exporter-tls');
    }
    assert.deepEqual(
      exporter.env.find((e: any) => e.name === 'NODE_NAME'),
      { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
    );

    // Every hostPath is mounted read-only, and the kubelet's socket never as a file.
    const hostPaths = new Map<string, string>(
      pod.volumes.filter((v: any) => v.hostPath).map((v: any) => [v.name, v.hostPath.path]),
    );
    for (const c of containers) {
      for (const m of c.volumeMounts ?? []) {
        if (!hostPaths.has(m.name)) continue;
        assert.equal(m.readOnly, true, `${c.name}: hostPath ${hostPaths.get(m.name)} read-only`);
      }
    }
    assert.ok(![...hostPaths.values()].some((p) => p.endsWith('.sock')), 'mount the pod-resources directory, not the socket');

    // Root only together with the pod-resources mount it exists for; without it, attribution
    // is off (it would report the kubelet down on every node).
    const runsAsRoot = exporter.securityContext.runAsUser === 0;
    const kubelet = [...hostPaths.values()].includes('/var/lib/kubelet/pod-resources');
    assert.equal(runsAsRoot, kubelet);
    assert.equal(pod.securityContext.runAsNonRoot, !runsAsRoot);
    assert.equal(exporter.args.includes('--no-attribution'), !kubelet, 'attribution off exactly where the kubelet socket is not mounted');
    // Group ids differ per host: none is hard-coded.
    assert.equal(pod.securityContext.supplementalGroups, undefined, 'no hard-coded supplementalGroups');

    // The nvidia RuntimeClass only on nodes that are NVIDIA's by every term of the affinity.
    const terms = pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms as { matchExpressions: { key: string }[] }[];
    if (pod.runtimeClassName !== undefined) {
      assert.equal(pod.runtimeClassName, 'nvidia');
      for (const t of terms) assert.ok(t.matchExpressions.some((e) => NVIDIA_NODE_LABELS.has(e.key)), `runtimeClassName nvidia on nodes selected by ${JSON.stringify(t)}`);
    }

    const strategy = daemonSet(objects).spec.updateStrategy;
    assert.equal(strategy.type, 'RollingUpdate');
    assert.ok(strategy.rollingUpdate.maxUnavailable, 'maxUnavailable set');

    for (const o of objects) {
      if (CLUSTER_SCOPED.has(o.kind)) assert.equal(o.metadata.namespace, undefined, describe(o));
      else assert.equal(o.metadata.namespace, 'accelerator-exporter', `${describe(o)} in the exporter namespace`);
    }
  });

  test(`daemonset/${target}: read-only RBAC and exactly one scrape config`, { skip }, () => {
    const objects = render(target);
    const roles = objects.filter((o) => o.kind === 'ClusterRole');
    assert.equal(roles.length, 1);
    const rules = (roles[0] as any).rules;
    // The only namespaced Role: OpenShift's use of the hostmount-anyuid SCC.
    for (const r of objects.filter((o) => o.kind === 'Role')) {
      assert.deepEqual((r as any).rules, [{ apiGroups: ['security.openshift.io'], resources: ['securitycontextconstraints'], resourceNames: ['hostmount-anyuid'], verbs: ['use'] }]);
    }
    // list and watch only: the exporter never gets an object by name, and writes nothing.
    assert.deepEqual(rules, [
      { apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] },
      { apiGroups: ['resource.k8s.io'], resources: ['resourceslices', 'resourceclaims'], verbs: ['list', 'watch'] },
    ]);
    const monitors = objects.filter((o) => o.kind === 'ServiceMonitor' || o.kind === 'PodMonitor');
    assert.equal(monitors.length, 1, 'one of ServiceMonitor or PodMonitor');
    const monitor = monitors[0]!;
    const endpoints = monitor.kind === 'ServiceMonitor' ? monitor.spec.endpoints : monitor.spec.podMetricsEndpoints;
    for (const e of endpoints) {
      assert.equal(e.honorLabels, true, 'honorLabels keeps the workload pod/namespace labels');
      assert.equal(e.port, 'metrics');
      assert.ok(
        e.relabelings.some((r: any) => r.sourceLabels?.[0] === '__meta_kubernetes_pod_node_name' && r.targetLabel === 'node'),
        'node label from the pod node name',
      );
    }
    if (monitor.kind === 'ServiceMonitor') {
      const service = objects.find((o) => o.kind === 'Service');
      assert.equal(service?.spec.clusterIP, 'None', 'headless Service');
    } else {
      assert.equal(objects.find((o) => o.kind === 'Service'), undefined, 'no Service with a PodMonitor');
    }
    const web = daemonSet(objects).spec.template.spec.containers[0].args.some((a: string) => a.startsWith('--web.config.file='));
    for (const e of endpoints) {
      if (!web) {
        assert.equal(e.scheme ?? 'http', 'http', 'plain HTTP without a web config');
        continue;
      }
      assert.equal(e.scheme, 'https', 'scrapes over HTTPS with a web config');
      assert.deepEqual(e.tlsConfig.ca, { secret: { name: 'accelerator-exporter-tls', key: 'ca.crt' } });
      assert.equal(e.tlsConfig.serverName, 'accelerator-exporter.accelerator-exporter.svc');
      assert.equal(e.tlsConfig.insecureSkipVerify ?? false, false);
      assert.deepEqual(e.basicAuth, {
        username: { name: 'accelerator-exporter-scrape', key: 'username' },
        password: { name: 'accelerator-exporter-scrape', key: 'password' },
      });
    }
    const selector = monitor.spec.selector.matchLabels;
    const podLabels = daemonSet(objects).spec.template.metadata.labels;
    for (const [k, v] of Object.entries(selector)) assert.equal(podLabels[k], v, `monitor selects the pods (${k})`);
  });

  test(`daemonset/${target}: a NetworkPolicy admits only the Prometheus namespace to the metrics port`, { skip }, () => {
    const objects = render(target);
    const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
    assert.equal(policies.length, 1);
    const spec = policies[0]!.spec;
    const podLabels = daemonSet(objects).spec.template.metadata.labels;
    for (const [k, v] of Object.entries(spec.podSelector.matchLabels)) assert.equal(podLabels[k], v, `selects the exporter pods (${k})`);
    assert.deepEqual(spec.policyTypes, ['Ingress']);
    assert.equal(spec.ingress.length, 1, 'one rule');
    const [rule] = spec.ingress;
    assert.deepEqual(rule.ports, [{ port: 'metrics', protocol: 'TCP' }]);
    assert.equal(rule.from.length, 1, 'one peer');
    // A namespace selector alone: no podSelector widening it, no ipBlock, never an empty (any) peer.
    assert.deepEqual(Object.keys(rule.from[0]), ['namespaceSelector']);
    const ns = rule.from[0].namespaceSelector.matchLabels['kubernetes.io/metadata.name'];
    assert.equal(ns, target === 'examples/nvidia-tls-basic-auth' ? 'prometheus' : 'monitoring');
    assert.ok(daemonSet(objects).spec.template.spec.containers[0].ports.some((p: any) => p.name === 'metrics'), 'the named port exists');
  });
}

test('vendor overlays set what their runtime needs, and platforms whose default runtime is nvidia name no RuntimeClass', { skip }, () => {
  const nvidia = daemonSet(render('overlays/nvidia')).spec.template.spec;
  assert.equal(nvidia.runtimeClassName, 'nvidia');
  for (const t of ['examples/eks-nvidia', 'examples/aks-nvidia']) assert.equal(daemonSet(render(t)).spec.template.spec.runtimeClassName, undefined, t);
  for (const t of ['examples/gke-nvidia', 'examples/openshift-nvidia']) assert.equal(daemonSet(render(t)).spec.template.spec.runtimeClassName, 'nvidia', t);
  const env = Object.fromEntries(nvidia.containers[0].env.map((e: any) => [e.name, e.value]));
  assert.equal(env.NVIDIA_VISIBLE_DEVICES, 'all');
  assert.equal(env.NVIDIA_DRIVER_CAPABILITIES, 'utility');
  const amd = daemonSet(render('overlays/amd')).spec.template.spec;
  const amdPaths = amd.volumes.filter((v: any) => v.hostPath).map((v: any) => v.hostPath.path).sort();
  assert.deepEqual(amdPaths, ['/dev/dri', '/dev/kfd', '/var/lib/kubelet/pod-resources']);
  assert.equal(daemonSet(render('base')).spec.template.spec.runtimeClassName, undefined);
});

test('kube-prometheus-stack component labels every monitoring object with the release', { skip }, () => {
  const objects = render('examples/nvidia-kube-prometheus-stack');
  for (const o of objects.filter((x) => ['ServiceMonitor', 'PodMonitor', 'PrometheusRule'].includes(x.kind))) {
    assert.equal(o.metadata.labels?.release, 'kube-prometheus-stack', describe(o));
  }
  assert.equal(daemonSet(objects).metadata.labels?.release, undefined, 'only the monitoring objects');
});

test('GKE: a ResourceQuota admits the DaemonSet\'s critical priority class outside kube-system', { skip }, () => {
  const objects = render('examples/gke-nvidia');
  const priority = daemonSet(objects).spec.template.spec.priorityClassName;
  const quotas = objects.filter((o) => o.kind === 'ResourceQuota');
  assert.equal(quotas.length, 1);
  assert.deepEqual(quotas[0]!.spec.scopeSelector.matchExpressions, [{ operator: 'In', scopeName: 'PriorityClass', values: [priority] }]);
  assert.equal(quotas[0]!.metadata.namespace, daemonSet(objects).metadata.namespace);
  const terms = daemonSet(objects).spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
  assert.ok(terms.some((t: any) => t.matchExpressions[0].key === 'cloud.google.com/gke-accelerator'));
});
