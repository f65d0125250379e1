// Pure serializers for the Prometheus text format 0.0.4 and OpenMetrics 1.0.
// No registry, no state: families and samples in, text out.

import type { MetricFamily, Sample } from './family.ts';

export type Format = 'prometheus' | 'openmetrics';

export const CONTENT_TYPES: Record<Format, string> = {
  prometheus: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
};

export interface RenderedFamily {
  readonly family: Pick<MetricFamily, 'name' | 'help' | 'type' | 'unit' | 'labelNames'>;
  readonly samples: readonly Sample[];
}

export function escapeLabelValue(v: string): string {
  return v.replace(/[\\"\n]/g, (c) => (c === '\\' ? '\\\\' : c === '"' ? '\\"' : '\\n'));
}

function escapeHelp(v: string, format: Format): string {
  const re = format === 'openmetrics' ? /[\\"\n]/g : /[\\\n]/g;
  return v.replace(re, (c) => (c === '\\' ? '\\\\' : c === '"' ? '\\"' : '\\n'));
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function labelBlock(names: readonly string[], values: readonly string[]): string {
  if (names.length === 0) return '';
  let out = '{';
  for (let i = 0; i < names.length; i++) {
    if (i > 0) out += ',';
    out += `${names[i]}="${escapeLabelValue(values[i] ?? '')}"`;
  }
  return out + '}';
}

/** Renders the families that have samples; a family without samples is left out whole. */
export function renderFamilies(families: readonly RenderedFamily[], format: Format): string {
  let out = '';
  for (const f of families) out += renderFamily(f, format);
  return out;
}

/** One family's block (HELP, TYPE, UNIT in OpenMetrics, then its samples), or '' when it has none. */
export function renderFamily({ family, samples }: RenderedFamily, format: Format): string {
  if (samples.length === 0) return '';
  const parts: string[] = [];
  const metaName = format === 'openmetrics' && family.type === 'counter' ? family.name.replace(/_total$/, '') : family.name;
  parts.push(`# HELP ${metaName} ${escapeHelp(family.help, format)}\n`);
  parts.push(`# TYPE ${metaName} ${family.type}\n`);
  if (format === 'openmetrics' && family.unit) parts.push(`# UNIT ${metaName} ${family.unit}\n`);
  for (const s of samples) {
    parts.push(`${family.name}${labelBlock(family.labelNames, s.labels)} ${formatValue(s.value)}\n`);
  }
  return parts.join('');
}

export const OPENMETRICS_EOF = '# EOF\n';

/**
 * Content negotiation on the Accept header (RFC 9110 q-values): OpenMetrics
 * when the scraper ranks it above the text format, as Prometheus's header
 * does; the text format when it ranks higher, ties the client listed first,
 * or nothing offered is acceptable (q=0 refuses a type).
 */
export function negotiate(accept: string | undefined): Format {
  if (!accept) return 'prometheus';
  const ranges = accept.split(',').map((part, order) => {
    const [type = '', ...params] = part.split(';').map((p) => p.trim());
    let q = 1;
    for (const p of params) {
      const m = /^q=([0-9.]+)$/i.exec(p);
      if (m) q = Math.min(1, Number(m[1]) || 0);
    }
    return { type: type.toLowerCase(), q, order };
  });
  // Each format takes the q of the most specific range that matches it.
  const rank = (type: string) => {
    for (const pattern of [type, `${type.split('/')[0]}/*`, '*/*']) {
      const hits = ranges.filter((r) => r.type === pattern);
      // A type listed twice (two versions) counts at its best q.
      if (hits.length > 0) return hits.reduce((a, b) => (b.q > a.q ? b : a));
    }
    return { q: 0, order: Infinity };
  };
  const om = rank('application/openmetrics-text');
  const text = rank('text/plain');
  if (om.q > 0 && (om.q > text.q || (om.q === text.q && om.order < text.order))) return 'openmetrics';
  return 'prometheus';
}
