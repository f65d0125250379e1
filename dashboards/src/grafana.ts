// A small typed builder for Grafana dashboard JSON (schema of current
// Grafana, no Angular panels). Panels are laid out left to right in rows of
// 24 columns; ids and refIds are assigned here so dashboards stay declarative.

export const DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const;

export type PanelType = 'timeseries' | 'stat' | 'table' | 'gauge' | 'state-timeline' | 'bargauge';

export interface Target {
  readonly expr: string;
  readonly legend?: string;
  /** Instant query (tables, stats of "now"). */
  readonly instant?: boolean;
  /**
   * Why this query may legitimately return nothing on the test captures (the
   * metric exists on other devices only). Not written to the JSON; the
   * end-to-end test then only checks that Prometheus accepts the query.
   */
  readonly emptyOnTestDevices?: string;
}

export interface PanelSpec {
  readonly type: PanelType;
  readonly title: string;
  readonly description?: string;
  readonly targets: readonly Target[];
  readonly unit?: string;
  readonly min?: number;
  readonly max?: number;
  /** Width in grid columns (of 24) and height in rows. */
  readonly w?: number;
  readonly h?: number;
  readonly thresholds?: readonly { value: number | null; color: string }[];
  readonly mappings?: readonly unknown[];
  readonly options?: Record<string, unknown>;
  readonly custom?: Record<string, unknown>;
  readonly transformations?: readonly unknown[];
  readonly overrides?: readonly unknown[];
}

export interface RowSpec {
  readonly row: string;
  readonly panels: readonly PanelSpec[];
}

export interface VariableSpec {
  readonly name: string;
  readonly label: string;
  /** label_values(...) query. */
  readonly query: string;
  readonly multi?: boolean;
  readonly hide?: boolean;
}

export interface DashboardSpec {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  readonly tags?: readonly string[];
  readonly variables: readonly VariableSpec[];
  readonly rows: readonly RowSpec[];
  readonly time?: string;
}

const DEFAULT_THRESHOLDS = [{ value: null, color: 'green' }];

function panelJson(p: PanelSpec, id: number, gridPos: { x: number; y: number; w: number; h: number }): Record<string, unknown> {
  const refIds = 'ABCDEFGHIJ';
  const defaults: Record<string, unknown> = {
    unit: p.unit ?? 'short',
    ...(p.min !== undefined ? { min: p.min } : {}),
    ...(p.max !== undefined ? { max: p.max } : {}),
    thresholds: { mode: 'absolute', steps: p.thresholds ?? DEFAULT_THRESHOLDS },
    mappings: p.mappings ?? [],
    color: { mode: p.type === 'timeseries' ? 'palette-classic' : p.type === 'table' ? 'fixed' : 'thresholds' },
    custom: p.custom ?? (p.type === 'timeseries' ? { drawStyle: 'line', lineWidth: 1, fillOpacity: 10, showPoints: 'never', spanNulls: false } : {}),
  };
  return {
    id,
    type: p.type,
    title: p.title,
    ...(p.description ? { description: p.description } : {}),
    datasource: DATASOURCE,
    gridPos,
    fieldConfig: { defaults, overrides: p.overrides ?? [] },
    options: p.options ?? defaultOptions(p.type),
    ...(p.transformations ? { transformations: p.transformations } : {}),
    targets: p.targets.map((t, i) => ({
      refId: refIds[i],
      datasource: DATASOURCE,
      expr: t.expr,
      legendFormat: t.legend ?? '__auto',
      range: !isInstant(p, t),
      instant: isInstant(p, t),
      ...(p.type === 'table' ? { format: 'table' } : {}),
    })),
  };
}

/**
 * Stat and gauge panels show one number, the last: an instant query gives it
 * for one evaluation, where a range query over a fleet evaluates every step of
 * the dashboard's time range (the fleet simulation measured 100x).
 */
export function isInstant(p: PanelSpec, t: Target): boolean {
  return t.instant ?? (p.type === 'stat' || p.type === 'gauge');
}

function defaultOptions(type: PanelType): Record<string, unknown> {
  const legend = { displayMode: 'list', placement: 'bottom', showLegend: true };
  switch (type) {
    case 'timeseries':
      return { legend, tooltip: { mode: 'multi', sort: 'desc' } };
    case 'stat':
      return { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'value', graphMode: 'none', textMode: 'auto', justifyMode: 'auto', orientation: 'auto' };
    case 'gauge':
      return { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, showThresholdLabels: false, showThresholdMarkers: true };
    case 'bargauge':
      return { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, displayMode: 'gradient', orientation: 'horizontal', showUnfilled: true };
    case 'state-timeline':
      return { legend, mergeValues: true, showValue: 'never', rowHeight: 0.9, alignValue: 'left', tooltip: { mode: 'single' } };
    case 'table':
      return { showHeader: true, cellHeight: 'sm', footer: { show: false, reducer: ['sum'], countRows: false } };
  }
}

function variableJson(v: VariableSpec): Record<string, unknown> {
  const multi = v.multi ?? true;
  return {
    name: v.name,
    label: v.label,
    type: 'query',
    datasource: DATASOURCE,
    query: { query: v.query, refId: `${v.name}-variable` },
    definition: v.query,
    refresh: 2,
    sort: 1,
    multi,
    includeAll: multi,
    ...(multi ? { allValue: '.*' } : {}),
    current: {},
    hide: v.hide ? 2 : 0,
    options: [],
    regex: '',
  };
}

export function dashboard(d: DashboardSpec): Record<string, unknown> {
  const panels: Record<string, unknown>[] = [];
  let id = 1;
  let y = 0;
  for (const row of d.rows) {
    panels.push({ id: id++, type: 'row', title: row.row, collapsed: false, gridPos: { x: 0, y, w: 24, h: 1 }, panels: [] });
    y += 1;
    let x = 0;
    let rowHeight = 0;
    for (const p of row.panels) {
      const w = p.w ?? 12;
      const h = p.h ?? 8;
      if (x + w > 24) {
        y += rowHeight;
        x = 0;
        rowHeight = 0;
      }
      panels.push(panelJson(p, id++, { x, y, w, h }));
      x += w;
      rowHeight = Math.max(rowHeight, h);
    }
    y += rowHeight;
  }
  return {
    uid: d.uid,
    title: d.title,
    description: d.description,
    tags: ['accelerator-exporter', ...(d.tags ?? [])],
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: d.time ?? 'now-6h', to: 'now' },
    timepicker: {},
    timezone: 'browser',
    fiscalYearStartMonth: 0,
    liveNow: false,
    links: [{ title: 'accelerator-exporter', type: 'dashboards', tags: ['accelerator-exporter'], asDropdown: true, includeVars: true, keepTime: true }],
    annotations: { list: [{ builtIn: 1, datasource: { type: 'grafana', uid: '-- Grafana --' }, enable: true, hide: true, iconColor: 'rgba(0, 211, 255, 1)', name: 'Annotations & Alerts', type: 'dashboard' }] },
    templating: {
      list: [
        { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', current: {}, hide: 0, refresh: 1, regex: '', options: [] },
        ...d.variables.map(variableJson),
      ],
    },
    panels,
  };
}

/** Every query of a dashboard spec with its panel title, for the end-to-end test. */
export function queries(d: DashboardSpec): { panel: string; target: Target }[] {
  return d.rows.flatMap((r) => r.panels.flatMap((p) => p.targets.map((target) => ({ panel: `${d.title} / ${p.title}`, target }))));
}

/** Table transformation that hides Grafana's bookkeeping columns. */
export function hideColumns(...names: string[]): unknown {
  return { id: 'organize', options: { excludeByName: Object.fromEntries(['Time', '__name__', 'job', 'instance', ...names].map((n) => [n, true])), renameByName: {}, indexByName: {} } };
}

export const MERGE = { id: 'merge', options: {} };
