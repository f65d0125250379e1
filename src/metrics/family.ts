import type { ExportedSnapshot } from '../store.ts';

export type MetricType = 'gauge' | 'counter';
export type Stability = 'stable' | 'alpha';

/** Label values in the order of the family's labelNames. */
export interface Sample {
  readonly labels: readonly string[];
  readonly value: number;
}

/**
 * A metric family declared as data, with a pure function from the snapshot to
 * its samples. The families are the single source of docs/metrics.md.
 */
export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  /** OpenMetrics unit; the name ends with it (before `_total`). Empty when dimensionless. */
  readonly unit: string;
  readonly labelNames: readonly string[];
  readonly stability: Stability;
  /** The OpenTelemetry semantic-convention instrument this family is the Prometheus form of. */
  readonly otel?: string;
  samples(snapshot: ExportedSnapshot, nowMs: number): Iterable<Sample>;
}
