// Flags and their environment-variable equivalents, declared as typed options
// (src/options.ts) so that --help, validation, docs and the typed values come
// from one table. Flags win over the environment; a bad flag or value is one
// clear line and exit status 2. This is the only place that reads flags by name.

import { attributionOptions, type AttributionOptions } from './attribution/options.ts';
import { vendorsOf, type Backend, type BackendDeps, type BackendFactory, type VendorFacts } from './backends/backend.ts';
import { groupFlags, option, parseAddress, parseDurationMs, readGroup, type FlagSpec, type ListenAddress, type OptionGroup } from './options.ts';
import { METRICS_OPTIONS, type MetricSelection } from './metrics/selection.ts';
import { otelSettings, type OtelSettings } from './telemetry/otel-config.ts';

export type { FlagSpec, ListenAddress } from './options.ts';
export { parseAddress, parseDurationMs } from './options.ts';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const DEFAULT_PORT = 9477;
export const ENV_PREFIX = 'ACCELERATOR_EXPORTER_';

export function envName(flag: string): string {
  return ENV_PREFIX + flag.toUpperCase().replace(/[.-]/g, '_');
}

export interface CommonOptions {
  readonly listen: ListenAddress;
  /** exporter-toolkit web configuration (TLS, basic auth); empty for plain HTTP. */
  readonly webConfigFile: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly graceIntervals: number;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  readonly logFormat: 'json' | 'logfmt';
}

const COMMON: OptionGroup<CommonOptions> = {
  listen: option.address('web.listen-address', `:${DEFAULT_PORT}`, 'Address to serve /metrics, /healthz and /readyz on, [host]:port.'),
  webConfigFile: option.string('web.config.file', '', 'Prometheus exporter-toolkit web configuration file (TLS, client certificates, basic auth); re-read when it changes and on SIGHUP. Empty: plain HTTP.'),
  intervalMs: option.duration('collect.interval', '10s', 'How often each backend samples its tool in the background (e.g. 10s, 500ms).'),
  timeoutMs: option.duration('collect.timeout', '5s', 'Bound for one backend sample; a tool still running then is killed.'),
  graceIntervals: option.int('collect.grace-intervals', 3, 'Intervals a failing backend\'s last good values are still served before its series are dropped.'),
  logLevel: option.enum('log.level', ['debug', 'info', 'warn', 'error'], 'info', 'Lowest level logged.'),
  logFormat: option.enum('log.format', ['json', 'logfmt'], 'json', 'Log line format.'),
};

/** An enabled backend with its parsed options bound: `create` imports its module and builds it. */
export interface ConfiguredBackend {
  readonly name: string;
  readonly vendor: VendorFacts;
  /** Backends this one keeps idle while it serves devices (BackendFactory.supersedes). */
  readonly supersedes?: readonly string[];
  create(deps: Omit<BackendDeps, 'name'>): Promise<Backend>;
}

export interface TelemetryConfig {
  readonly otel: OtelSettings;
  /** The Kubernetes node (downward API NODE_NAME). */
  readonly nodeName?: string;
}

export interface Config extends CommonOptions {
  /** The enabled backends, in registry order. */
  readonly backends: readonly ConfiguredBackend[];
  readonly attribution: AttributionOptions;
  readonly telemetry: TelemetryConfig;
  /** Which metric families are served (--metrics.include/--metrics.exclude). */
  readonly metrics: MetricSelection;
}

const enableOption = (f: BackendFactory<any>) => option.bool(`backend.${f.name}`, f.defaultEnabled, `Enable the ${f.name} backend: ${f.description}.`);

/** Every flag, in --help order: common, each backend's, attribution's. */
export function flagSpecs(factories: readonly BackendFactory<any>[]): FlagSpec[] {
  return [
    ...groupFlags(COMMON),
    ...factories.flatMap((f) => [enableOption(f).flag, ...groupFlags(f.options)]),
    ...groupFlags(attributionOptions(vendorsOf(factories))),
    ...groupFlags(METRICS_OPTIONS),
  ];
}

export type ParseResult = { readonly kind: 'run'; readonly config: Config } | { readonly kind: 'help' } | { readonly kind: 'version' };

export function parseConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, factories: readonly BackendFactory<any>[]): ParseResult {
  const specs = flagSpecs(factories);
  const byName = new Map(specs.map((s) => [s.name, s]));
  const values = new Map<string, string>();

  for (const s of specs) {
    const v = env[envName(s.name)];
    if (v !== undefined && v !== '') values.set(s.name, checkValue(s, v, `environment variable ${envName(s.name)}`));
  }

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return { kind: 'help' };
    if (arg === '--version') return { kind: 'version' };
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument "${arg}" (flags start with --; see --help)`);
    const eq = arg.indexOf('=');
    let name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    let value: string | undefined = eq >= 0 ? arg.slice(eq + 1) : undefined;
    let spec = byName.get(name);
    if (!spec && name.startsWith('no-') && byName.get(name.slice(3))?.kind === 'bool') {
      if (value !== undefined) throw new ConfigError(`flag --${name} takes no value`);
      name = name.slice(3);
      spec = byName.get(name);
      value = 'false';
    }
    if (!spec) throw new ConfigError(`unknown flag --${name} (see --help)`);
    if (value === undefined) {
      if (spec.kind === 'bool') value = 'true';
      else {
        const next = argv[i + 1];
        if (next === undefined || next.startsWith('--')) throw new ConfigError(`flag --${name} needs a value`);
        value = next;
        i++;
      }
    }
    values.set(name, checkValue(spec, value, `flag --${name}`));
  }

  const text = (name: string) => values.get(name) ?? byName.get(name)!.default;
  const backends = factories.filter((f) => readGroup({ on: enableOption(f) }, text).on).map((f) => configure(f, text));
  return {
    kind: 'run',
    config: {
      ...readGroup(COMMON, text),
      backends,
      attribution: readGroup(attributionOptions(vendorsOf(factories)), text),
      telemetry: { otel: otelSettings(env), ...(env.NODE_NAME ? { nodeName: env.NODE_NAME } : {}) },
      metrics: readGroup(METRICS_OPTIONS, text),
    },
  };
}

/** Binds a backend's parsed options to its factory, keeping their type together. */
function configure<O>(f: BackendFactory<O>, text: (name: string) => string): ConfiguredBackend {
  const options = readGroup(f.options, text);
  return {
    name: f.name,
    vendor: f.vendor,
    ...(f.supersedes ? { supersedes: f.supersedes } : {}),
    create: async (deps) => (await f.load())({ ...deps, name: f.name }, options),
  };
}

function checkValue(spec: FlagSpec, value: string, where: string): string {
  const bad = (why: string) => new ConfigError(`invalid value "${value}" for ${where}: ${why}`);
  if (spec.keyword !== undefined && value === spec.keyword) return value;
  switch (spec.kind) {
    case 'duration':
      if (parseDurationMs(value) === undefined) throw bad(`expected a positive duration such as 10s, 500ms or 1m${spec.keyword ? ` or "${spec.keyword}"` : ''}`);
      return value;
    case 'address':
      if (parseAddress(value) === undefined) throw bad('expected [host]:port, e.g. :9477, 127.0.0.1:9477 or [::1]:9477');
      return value;
    case 'bool': {
      const v = value.toLowerCase();
      if (!['true', 'false', '1', '0', 'yes', 'no'].includes(v)) throw bad('expected true or false');
      return String(['true', '1', 'yes'].includes(v));
    }
    case 'enum':
      if (!spec.choices!.includes(value)) throw bad(`expected one of ${spec.choices!.join(', ')}`);
      return value;
    case 'int':
      if (!/^\d+$/.test(value)) throw bad('expected a whole number');
      return value;
    case 'string':
      if (value === '') throw bad('must not be empty');
      return value;
  }
}

export function helpText(factories: readonly BackendFactory<any>[]): string {
  const lines = [
    'Usage: accelerator-exporter [flags]',
    '',
    'Serves accelerator metrics (utilisation, memory, power, temperature, errors, clocks) in',
    'Prometheus format, read in the background from the vendor tools.',
    '',
    'Flags (each also read from the environment variable shown; flags win):',
  ];
  for (const s of flagSpecs(factories)) {
    const name = s.kind === 'bool' ? `--[no-]${s.name}` : `--${s.name}=<${s.kind === 'enum' ? s.choices!.join('|') : s.kind}${s.keyword ? `|${s.keyword}` : ''}>`;
    lines.push(`  ${name}`);
    lines.push(`      ${s.help} (default: ${s.default || '""'}; env ${envName(s.name)})`);
  }
  lines.push('  --help       Show this help and exit.');
  lines.push('  --version    Print the version and exit.');
  lines.push('', 'Endpoints: /metrics (Prometheus text, OpenMetrics on request), /healthz, /readyz.');
  return lines.join('\n') + '\n';
}
