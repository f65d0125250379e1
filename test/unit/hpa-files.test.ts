// The autoscaling files agree with each other and with the manifests: the
// prometheus-adapter Helm values and --config file hold the same rules in
// their own shapes, and KEDA and the adapter point at the Prometheus of the
// kube-prometheus-stack release the monitoring objects are labelled for.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { ROOT } from '../helpers/exporter.ts';

const read = (f: string) => parse(readFileSync(path.join(ROOT, f), 'utf8')) as any;

describe('autoscaling files', () => {
  const values = read('hpa/prometheus-adapter-values.yaml');
  const config = read('hpa/prometheus-adapter-config.yaml');
  const release = read('daemonset/components/kube-prometheus-stack/kustomization.yaml').labels[0].pairs.release as string;

  it('ship the adapter rules in the Helm chart values shape and in the --config file shape, equal', () => {
    // Chart: rules.default (its built-in rules) off, ours under rules.custom.
    assert.equal(values.rules.default, false);
    assert.ok(Array.isArray(values.rules.custom));
    // --config (kubernetes-sigs/prometheus-adapter docs/config.md): rules is the list itself.
    assert.ok(Array.isArray(config.rules), 'the --config file has rules: [...]');
    assert.deepEqual(Object.keys(config), ['rules']);
    assert.deepEqual(config.rules, values.rules.custom);
    assert.deepEqual(
      config.rules.map((r: { name: { as: string } }) => r.name.as),
      ['accelerator_utilization', 'accelerator_memory_usage_bytes'],
    );
  });

  it('point the adapter and KEDA at the Prometheus of the release the monitors are labelled for', () => {
    // kube-prometheus-stack names its Prometheus Service <release>-prometheus (release names
    // containing the chart name are used as they are).
    const service = `http://${release}-prometheus.monitoring.svc`;
    assert.equal(values.prometheus.url, service);
    assert.equal(values.prometheus.port, 9090);
    const keda = read('hpa/keda-scaledobject.yaml');
    assert.equal(keda.spec.triggers[0].metadata.serverAddress, `${service}:9090`);
    assert.ok(readFileSync(path.join(ROOT, 'docs/autoscaling.md'), 'utf8').includes(`${service}:9090`));
  });
});
