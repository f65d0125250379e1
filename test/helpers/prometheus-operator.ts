// The scrape configuration the Prometheus Operator generates from a
// ServiceMonitor or PodMonitor, reproduced for the fields our monitors use,
// with file_sd in place of Kubernetes service discovery: the lab writes each
// exporter as a target carrying the `__meta_kubernetes_*` labels Kubernetes
// SD would attach, so the Operator's relabelings and ours run for real.
//
// Source: prometheus-operator/prometheus-operator @6adcebc5 (v0.93.0-24,
// 2026-08), pkg/prometheus/promcfg.go: initRelabelings,
// generateServiceMonitorConfig, generatePodMonitorConfig, generateRunningFilter,
// generateRelabelConfig, appendShardingRelabelingWithLabel; checked against its
// goldens pkg/prometheus/testdata/ServiceMonitorObjectWithMatchLabelSelector.golden
// and PodMonitorObjectWithMatchLabelSelector.golden (one shard, so the
// config-reloader's $(SHARD) is 0). Meta label names: Prometheus's
// kubernetes_sd_config documentation (roles endpoints and pod). Re-implemented,
// not copied; the relabel rules keep the Operator's order, which decides
// the result (the monitor's own relabelings run after the Operator's target labels).

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { ROOT } from './exporter.ts';

export const SERVICE_MONITOR_FILE = path.join(ROOT, 'daemonset/base/servicemonitor.yaml');
export const POD_MONITOR_FILE = path.join(ROOT, 'daemonset/components/podmonitor/podmonitor.yaml');
/** Where daemonset/base puts everything (its kustomization's `namespace:`). */
export const EXPORTER_NAMESPACE = 'accelerator-exporter';

export interface RelabelConfig {
  sourceLabels?: string[];
  separator?: string;
  targetLabel?: string;
  regex?: string;
  modulus?: number;
  replacement?: string;
  action?: string;
}

interface Endpoint {
  port?: string;
  path?: string;
  honorLabels?: boolean;
  relabelings?: RelabelConfig[];
  metricRelabelings?: RelabelConfig[];
}

export interface Monitor {
  kind: 'ServiceMonitor' | 'PodMonitor';
  metadata: { name: string; namespace?: string };
  spec: {
    jobLabel?: string;
    selector: { matchLabels?: Record<string, string> };
    endpoints?: Endpoint[];
    podMetricsEndpoints?: Endpoint[];
  };
}

export function readMonitor(file: string): Monitor {
  return parse(readFileSync(file, 'utf8')) as Monitor;
}

type Rule = Record<string, unknown>;

const sanitize = (name: string) => name.replace(/[^a-zA-Z0-9_]/g, '_');

/** generateRelabelConfig: the monitor's own rules, fields in the Operator's order, action lower-cased. */
function userRules(rc: readonly RelabelConfig[] = []): Rule[] {
  return rc.map((c) => {
    const r: Rule = {};
    if (c.sourceLabels?.length) r.source_labels = c.sourceLabels;
    if (c.separator !== undefined) r.separator = c.separator;
    if (c.targetLabel) r.target_label = c.targetLabel;
    if (c.regex) r.regex = c.regex;
    if (c.modulus) r.modulus = c.modulus;
    if (c.replacement !== undefined) r.replacement = c.replacement;
    if (c.action) r.action = c.action.toLowerCase();
    return r;
  });
}

const RUNNING_FILTER: Rule = { action: 'drop', source_labels: ['__meta_kubernetes_pod_phase'], regex: '(Failed|Succeeded)' };

/** One Prometheus shard: the config-reloader substitutes $(SHARD) with 0. */
const SHARDING: Rule[] = [
  { source_labels: ['__address__', '__tmp_hash'], target_label: '__tmp_hash', regex: '(.+);', replacement: '$1', action: 'replace' },
  { source_labels: ['__tmp_hash'], target_label: '__tmp_hash', modulus: 1, action: 'hashmod' },
  { source_labels: ['__tmp_hash', '__tmp_disable_sharding'], regex: '0;|.+;.+', action: 'keep' },
];

export interface ScrapeOverrides {
  /** The lab scrapes every second; the monitors' 15s would make the test slow. */
  readonly interval: string;
  readonly sdFile: string;
}

/** The scrape_configs entry for endpoint 0 of a ServiceMonitor (role endpoints) or PodMonitor (role pod). */
export function operatorScrapeConfig(m: Monitor, o: ScrapeOverrides): Rule {
  const ns = m.metadata.namespace ?? EXPORTER_NAMESPACE;
  const service = m.kind === 'ServiceMonitor';
  const ep = (service ? m.spec.endpoints : m.spec.podMetricsEndpoints)![0]!;
  const labelMeta = service ? '__meta_kubernetes_service_label' : '__meta_kubernetes_pod_label';
  const presentMeta = service ? '__meta_kubernetes_service_labelpresent' : '__meta_kubernetes_pod_labelpresent';
  const relabel: Rule[] = [{ source_labels: ['job'], target_label: '__tmp_prometheus_job_name' }];
  if (!service) relabel.push(RUNNING_FILTER);
  for (const k of Object.keys(m.spec.selector.matchLabels ?? {}).sort()) {
    relabel.push({ action: 'keep', source_labels: [`${labelMeta}_${sanitize(k)}`, `${presentMeta}_${sanitize(k)}`], regex: `(${m.spec.selector.matchLabels![k]});true` });
  }
  if (ep.port) relabel.push({ action: 'keep', source_labels: [service ? '__meta_kubernetes_endpoint_port_name' : '__meta_kubernetes_pod_container_port_name'], regex: ep.port });
  if (service) {
    const kindName = ['__meta_kubernetes_endpoint_address_target_kind', '__meta_kubernetes_endpoint_address_target_name'];
    relabel.push(
      { source_labels: kindName, separator: ';', regex: 'Node;(.*)', replacement: '${1}', target_label: 'node' },
      { source_labels: kindName, separator: ';', regex: 'Pod;(.*)', replacement: '${1}', target_label: 'pod' },
      { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
      { source_labels: ['__meta_kubernetes_service_name'], target_label: 'service' },
      { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
      { source_labels: ['__meta_kubernetes_pod_container_name'], target_label: 'container' },
      RUNNING_FILTER,
      { source_labels: ['__meta_kubernetes_service_name'], target_label: 'job', replacement: '${1}' },
    );
  } else {
    relabel.push(
      { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
      { source_labels: ['__meta_kubernetes_pod_container_name'], target_label: 'container' },
      { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
      { target_label: 'job', replacement: `${ns}/${m.metadata.name}` },
    );
  }
  if (m.spec.jobLabel) relabel.push({ source_labels: [`${labelMeta}_${sanitize(m.spec.jobLabel)}`], target_label: 'job', regex: '(.+)', replacement: '${1}' });
  if (ep.port) relabel.push({ target_label: 'endpoint', replacement: ep.port });
  relabel.push(...userRules(ep.relabelings), ...SHARDING);
  const cfg: Rule = {
    job_name: `${service ? 'serviceMonitor' : 'podMonitor'}/${ns}/${m.metadata.name}/0`,
    honor_labels: ep.honorLabels ?? false,
    // In place of kubernetes_sd_configs: [{role: endpoints|pod, namespaces: {names: [ns]}}].
    file_sd_configs: [{ files: [o.sdFile], refresh_interval: '1s' }],
    scrape_interval: o.interval,
    scrape_timeout: o.interval,
  };
  if (ep.path) cfg.metrics_path = ep.path;
  cfg.relabel_configs = relabel;
  if (ep.metricRelabelings?.length) cfg.metric_relabel_configs = userRules(ep.metricRelabelings);
  return cfg;
}

/** An exporter pod as Kubernetes service discovery describes it. */
export interface ExporterPod {
  readonly name: string;
  readonly node: string;
  /** host:port the exporter listens on (the pod IP and container port in a cluster). */
  readonly address: string;
}

const POD_LABELS: Record<string, string> = {
  'app.kubernetes.io/name': 'accelerator-exporter',
  'app.kubernetes.io/part-of': 'accelerator-exporter',
  'app.kubernetes.io/component': 'exporter',
  'app.kubernetes.io/version': '0.1.0',
  'controller-revision-hash': '6b9f7c8d5',
  'pod-template-generation': '1',
};
const SERVICE_LABELS: Record<string, string> = {
  'app.kubernetes.io/name': 'accelerator-exporter',
  'app.kubernetes.io/part-of': 'accelerator-exporter',
  'app.kubernetes.io/component': 'exporter',
  'app.kubernetes.io/version': '0.1.0',
};

function labelMeta(prefix: string, labels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) {
    out[`${prefix}_label_${sanitize(k)}`] = v;
    out[`${prefix}_labelpresent_${sanitize(k)}`] = 'true';
  }
  return out;
}

function podMeta(p: ExporterPod): Record<string, string> {
  const [ip, port] = [p.address.slice(0, p.address.lastIndexOf(':')), p.address.slice(p.address.lastIndexOf(':') + 1)];
  return {
    __meta_kubernetes_namespace: EXPORTER_NAMESPACE,
    __meta_kubernetes_pod_name: p.name,
    __meta_kubernetes_pod_ip: ip,
    __meta_kubernetes_pod_uid: `0e1d2c3b-${p.name.slice(-5)}-4a5b-8c9d-0123456789ab`,
    __meta_kubernetes_pod_node_name: p.node,
    __meta_kubernetes_pod_host_ip: ip,
    __meta_kubernetes_pod_ready: 'true',
    __meta_kubernetes_pod_phase: 'Running',
    __meta_kubernetes_pod_controller_kind: 'DaemonSet',
    __meta_kubernetes_pod_controller_name: 'accelerator-exporter',
    __meta_kubernetes_pod_container_name: 'exporter',
    __meta_kubernetes_pod_container_image: 'registry.example.com/accelerator-exporter:0.1.0',
    __meta_kubernetes_pod_container_init: 'false',
    __meta_kubernetes_pod_container_port_name: 'metrics',
    __meta_kubernetes_pod_container_port_number: port!,
    __meta_kubernetes_pod_container_port_protocol: 'TCP',
    ...labelMeta('__meta_kubernetes_pod', POD_LABELS),
  };
}

/** One file_sd target group: role endpoints (through the headless Service) or role pod. */
export function sdTargetGroup(kind: Monitor['kind'], p: ExporterPod): { targets: string[]; labels: Record<string, string> } {
  const labels =
    kind === 'PodMonitor'
      ? podMeta(p)
      : {
          ...podMeta(p),
          __meta_kubernetes_service_name: 'accelerator-exporter',
          ...labelMeta('__meta_kubernetes_service', SERVICE_LABELS),
          __meta_kubernetes_endpoints_name: 'accelerator-exporter',
          ...labelMeta('__meta_kubernetes_endpoints', SERVICE_LABELS),
          __meta_kubernetes_endpoint_port_name: 'metrics',
          __meta_kubernetes_endpoint_port_protocol: 'TCP',
          __meta_kubernetes_endpoint_ready: 'true',
          __meta_kubernetes_endpoint_node_name: p.node,
          __meta_kubernetes_endpoint_address_target_kind: 'Pod',
          __meta_kubernetes_endpoint_address_target_name: p.name,
        };
  return { targets: [p.address], labels };
}
