// Which metric families the exporter serves: --metrics.include and
// --metrics.exclude, family-name globs, applied once to the family list when
// the app is built. A family left out is never rendered, neither per snapshot
// nor per scrape, and never becomes an OTLP instrument, so it costs nothing.
// The exporter's own families (accelerator_exporter_*) are always served: the
// alerts that say whether the exporter works depend on them.

import { ConfigError } from '../config.ts';
import { option, type OptionGroup } from '../options.ts';
import type { MetricFamily } from './family.ts';

export const SELF_PREFIX = 'accelerator_exporter_';

const INCLUDE_HELP =
  'Metric families to serve (Prometheus and OTLP): comma-separated family-name globs, * any run of characters, ? one character. Self metrics (accelerator_exporter_*) are always served.';
const EXCLUDE_HELP =
  'Metric families not to serve, globs as for --metrics.include; exclude wins over include. Self metrics (accelerator_exporter_*) cannot be excluded; a glob matching only those is an error.';

/** --metrics.include and --metrics.exclude as typed options: the parsed glob lists. */
export const METRICS_OPTIONS: OptionGroup<MetricSelection> = {
  include: { flag: option.string('metrics.include', '*', INCLUDE_HELP).flag, parse: (t) => parseGlobs(t, 'metrics.include') },
  exclude: { flag: option.string('metrics.exclude', '', EXCLUDE_HELP).flag, parse: (t) => parseGlobs(t, 'metrics.exclude') },
};

/**
 * The recommended exclusion for large fleets (docs/metrics.md): static or
 * diagnostic families no shipped alert, recording rule or fleet dashboard
 * reads. The node dashboard's clock, engine, PCIe-link and retired-page
 * panels go empty, and so do the dcgm-exporter compatibility series
 * DCGM_FI_DEV_ENC_UTIL and DCGM_FI_DEV_DEC_UTIL.
 */
export const FLEET_LEAN_EXCLUDE =
  'accelerator_clock_max_hertz,accelerator_clock_event_seconds_total,accelerator_engine_utilization_ratio,accelerator_pcie_link_*,accelerator_performance_state,accelerator_fan_speed_ratio,accelerator_retired_pages';

export interface MetricSelection {
  readonly include: readonly string[];
  readonly exclude: readonly string[];
}

export const SELECT_ALL: MetricSelection = { include: ['*'], exclude: [] };

const GLOB = /^[a-zA-Z0-9_:*?]+$/;

/** A comma-separated glob list; blanks around commas are ignored. */
export function parseGlobs(value: string, flag: string): string[] {
  const globs = value
    .split(',')
    .map((g) => g.trim())
    .filter((g) => g !== '');
  if (globs.length === 0 && value.trim() !== '') throw new ConfigError(`invalid value "${value}" for flag --${flag}: no glob in it`);
  for (const g of globs) {
    if (!GLOB.test(g)) throw new ConfigError(`invalid value "${value}" for flag --${flag}: "${g}" is not a family-name glob (letters, digits, _, :, * and ? only)`);
  }
  return globs;
}

function globRegExp(glob: string): RegExp {
  return new RegExp('^' + glob.replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
}

export function isSelf(name: string): boolean {
  return name.startsWith(SELF_PREFIX);
}

export interface SelectionResult {
  readonly families: MetricFamily[];
  /** Globs that match no family at all (typos, or families of another version). */
  readonly unmatched: readonly string[];
}

/**
 * The families to serve, in their original order. `catalog` is every family
 * the exporter knows, for telling a glob that matches nothing from one that
 * matches only families absent from `families`.
 */
export function selectFamilies(families: readonly MetricFamily[], selection: MetricSelection, catalog: readonly MetricFamily[] = families): SelectionResult {
  const include = selection.include.map(globRegExp);
  const exclude = selection.exclude.map(globRegExp);
  const names = catalog.map((f) => f.name);
  for (const [i, re] of exclude.entries()) {
    const hits = names.filter((n) => re.test(n));
    if (hits.length > 0 && hits.every(isSelf)) {
      throw new ConfigError(`--metrics.exclude "${selection.exclude[i]}" matches only self metrics (${SELF_PREFIX}*), which are always served`);
    }
  }
  const unmatched = [...selection.include, ...selection.exclude].filter((g, i) => {
    const re = i < include.length ? include[i]! : exclude[i - include.length]!;
    return !names.some((n) => re.test(n));
  });
  const kept = families.filter((f) => isSelf(f.name) || (include.some((re) => re.test(f.name)) && !exclude.some((re) => re.test(f.name))));
  return { families: kept, unmatched };
}

/** The selection flag texts (by flag name) ask for; a ConfigError for a bad glob. For tests and docs. */
export function metricSelection(raw: Readonly<Record<string, string>>): MetricSelection {
  return {
    include: parseGlobs(raw['metrics.include'] ?? '*', 'metrics.include'),
    exclude: parseGlobs(raw['metrics.exclude'] ?? '', 'metrics.exclude'),
  };
}
