// The PrometheusRule manifest is the plain rules file under `spec:`: a rules
// file is `groups: [...]` and so is a PrometheusRule's spec, so indenting the
// file's text keeps one source of truth without a YAML library.

export const RULES_FILE = 'alerts/accelerator.rules.yaml';
export const PROMETHEUS_RULE_FILE = 'alerts/accelerator.prometheusrule.yaml';

export function prometheusRule(rulesYaml: string): string {
  const lines = rulesYaml.split('\n');
  const start = lines.findIndex((l) => l.startsWith('groups:'));
  if (start < 0) throw new Error(`${RULES_FILE} has no top-level groups:`);
  const body = lines
    .slice(start)
    .map((l) => (l === '' ? '' : '  ' + l))
    .join('\n');
  return `# Generated from ${RULES_FILE} by \`node dashboards/build.ts\`; edit that file, not this one.
# kube-prometheus-stack selects rules by label (ruleSelector); add its label
# (for example release: <your release>) when you apply this manifest.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: accelerator-exporter
  labels:
    app.kubernetes.io/name: accelerator-exporter
    app.kubernetes.io/component: alerting
spec:
${body.endsWith('\n') ? body : body + '\n'}`;
}
