// How a Prometheus metric family is named in OpenTelemetry. The instrument
// name comes from the family's own `otel` field where a semantic convention
// exists; every other accelerator family gets a name derived from its
// Prometheus name under `accelerator.*`, so OTLP carries the same set of
// series as /metrics. Labels become attributes through one table.

import type { MetricFamily } from '../metrics/family.ts';

export interface InstrumentSpec {
  readonly family: MetricFamily;
  readonly name: string;
  /** UCUM, as OpenTelemetry units are written. */
  readonly unit: string;
  readonly kind: 'gauge' | 'counter';
  /** Attribute key per label, in the family's label order. */
  readonly attributeKeys: readonly string[];
  /** Attributes every point of the instrument carries. */
  readonly constantAttributes: Readonly<Record<string, string>>;
  /** True when `name` is a semantic-convention name from the family's `otel` field. */
  readonly semconv: boolean;
}

/** Prometheus unit suffix -> UCUM unit. */
const UNITS: Readonly<Record<string, string>> = {
  '': '',
  ratio: '1',
  bytes: 'By',
  bytes_per_second: 'By/s',
  watts: 'W',
  joules: 'J',
  celsius: 'Cel',
  hertz: 'Hz',
  seconds: 's',
};

/** Units the hardware conventions give where the Prometheus family has none. */
const SEMCONV_UNITS: Readonly<Record<string, string>> = {
  'hw.errors': '{error}',
};

/**
 * Label -> attribute. Identity and the labels a convention names map to
 * semantic-convention attributes; the rest keep their name under
 * `accelerator.` (no convention covers a PCI bus id or a tool's index).
 */
const ATTRIBUTES: Readonly<Record<string, string>> = {
  uuid: 'hw.id',
  vendor: 'hw.vendor',
  model: 'hw.model',
  pci_bus_id: 'accelerator.pci_bus_id',
  gpu: 'accelerator.index',
  parent_uuid: 'hw.parent',
  sensor: 'hw.sensor_location',
  error_type: 'error.type',
  direction: 'network.io.direction',
  driver_version: 'hw.driver_version',
  vbios_version: 'hw.firmware_version',
  serial: 'hw.serial_number',
};

export function attributeKey(label: string): string {
  return ATTRIBUTES[label] ?? `accelerator.${label}`;
}

/** `accelerator_clock_max_hertz` -> `accelerator.clock_max`; `accelerator_exporter_tool_starts_total` -> `accelerator.exporter.tool_starts`. */
export function derivedName(f: MetricFamily): string {
  let base = f.name.replace(/_total$/, '');
  if (f.unit && base.endsWith('_' + f.unit)) base = base.slice(0, -(f.unit.length + 1));
  return base.replace(/^accelerator_exporter_/, 'accelerator.exporter.').replace(/^accelerator_/, 'accelerator.');
}

/**
 * Families pushed over OTLP: all but the `process_*` ones, which describe
 * the Node process in Prometheus client conventions (OpenTelemetry has its
 * own runtime instrumentation for that).
 */
export function exportedFamilies(families: readonly MetricFamily[]): MetricFamily[] {
  return families.filter((f) => !f.name.startsWith('process_'));
}

export function instrumentSpec(f: MetricFamily): InstrumentSpec {
  const name = f.otel ?? derivedName(f);
  const unit = SEMCONV_UNITS[name] ?? UNITS[f.unit];
  if (unit === undefined) throw new Error(`${f.name}: no UCUM unit for Prometheus unit ${f.unit}`);
  return {
    family: f,
    name,
    unit,
    kind: f.type,
    attributeKeys: f.labelNames.map(attributeKey),
    // Device families (those keyed by uuid) are GPUs today; hw.type is required by the conventions.
    constantAttributes: f.labelNames.includes('uuid') ? { 'hw.type': 'gpu' } : {},
    semconv: f.otel !== undefined,
  };
}

/** Attributes of one sample; an empty label value is an absent label in Prometheus, so no attribute. */
export function sampleAttributes(spec: InstrumentSpec, labels: readonly string[]): Record<string, string> {
  const attrs: Record<string, string> = { ...spec.constantAttributes };
  spec.attributeKeys.forEach((key, i) => {
    const v = labels[i];
    if (v) attrs[key] = v;
  });
  return attrs;
}

export const OTEL_DOC_BEGIN = '<!-- BEGIN GENERATED OTEL NAMES: npm run docs -->';
export const OTEL_DOC_END = '<!-- END GENERATED OTEL NAMES -->';

/** The name mapping table of docs/opentelemetry.md. */
export function otelNamesTable(families: readonly MetricFamily[]): string {
  const rows = ['| Prometheus | OpenTelemetry instrument | Kind | Unit | Attributes |', '| --- | --- | --- | --- | --- |'];
  for (const f of exportedFamilies(families)) {
    const s = instrumentSpec(f);
    const attrs = [...Object.entries(s.constantAttributes).map(([k, v]) => `${k}=${v}`), ...s.attributeKeys].map((a) => `\`${a}\``).join(', ');
    const kind = s.kind === 'counter' ? 'ObservableCounter' : 'ObservableGauge';
    rows.push(`| \`${f.name}\` | \`${s.name}\`${s.semconv ? '' : ' (derived)'} | ${kind} | ${s.unit ? `\`${s.unit}\`` : ''} | ${attrs} |`);
  }
  return rows.join('\n') + '\n';
}
