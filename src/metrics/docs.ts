import type { MetricFamily } from './family.ts';

export const DOC_BEGIN = '<!-- BEGIN GENERATED METRICS: npm run docs -->';
export const DOC_END = '<!-- END GENERATED METRICS -->';

/** The metric reference table of docs/metrics.md, generated from the families. */
export function metricsTable(families: readonly MetricFamily[]): string {
  const rows = [
    '| Metric | Type | Unit | Labels | Stability | OpenTelemetry | Description |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const f of families) {
    const labels = f.labelNames.length ? f.labelNames.map((l) => `\`${l}\``).join(', ') : '';
    rows.push(`| \`${f.name}\` | ${f.type} | ${f.unit} | ${labels} | ${f.stability} | ${f.otel ? `\`${f.otel}\`` : ''} | ${f.help.replace(/\|/g, '\\|')} |`);
  }
  return rows.join('\n') + '\n';
}

export function replaceGenerated(doc: string, table: string): string {
  const a = doc.indexOf(DOC_BEGIN);
  const b = doc.indexOf(DOC_END);
  if (a < 0 || b < a) throw new Error(`docs/metrics.md lacks the ${DOC_BEGIN} ... ${DOC_END} markers`);
  return doc.slice(0, a + DOC_BEGIN.length) + '\n' + table + doc.slice(b);
}
