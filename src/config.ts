// Flags and their environment-variable equivalents, declared as data so that
// --help, validation and docs come from one table. Flags win over the
// environment; a bad flag or value is one clear line and exit status 2.

import type { BackendFactory } from './backends/backend.ts';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Kind = 'string' | 'duration' | 'bool' | 'address' | 'enum' | 'int';

export interface FlagSpec {
  readonly name: string;
  readonly kind: Kind;
  readonly default: string;
  readonly help: string;
  readonly choices?: readonly string[];
  /** A word accepted besides a value of `kind` (a duration flag's "collect"). */
  readonly keyword?: string;
}

export interface ListenAddress {
  /** Empty means every interface. */
  readonly host: string;
  readonly port: number;
}

export interface Config {
  readonly listen: ListenAddress;
  /** exporter-toolkit web configuration (TLS, basic auth); empty for plain HTTP. */
  readonly webConfigFile: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly graceIntervals: number;
  readonly logLevel: string;
  readonly logFormat: 'json' | 'logfmt';
  /** Enabled state of each backend, by name. */
  readonly backends: Readonly<Record<string, boolean>>;
  /** Every flag's parsed string value, by flag name (tool paths among them). */
  readonly raw: Readonly<Record<string, string>>;
}

export const DEFAULT_PORT = 9477;
export const ENV_PREFIX = 'ACCELERATOR_EXPORTER_';

export function envName(flag: string): string {
  return ENV_PREFIX + flag.toUpperCase().replace(/[.-]/g, '_');
}

const COMMON_FLAGS: readonly FlagSpec[] = [
  { name: 'web.listen-address', kind: 'address', default: `:${DEFAULT_PORT}`, help: 'Address to serve /metrics, /healthz and /readyz on, [host]:port.' },
  { name: 'web.config.file', kind: 'string', default: '', help: 'Prometheus exporter-toolkit web configuration file (TLS, client certificates, basic auth); re-read when it changes and on SIGHUP. Empty: plain HTTP.' },
  { name: 'collect.interval', kind: 'duration', default: '10s', help: 'How often each backend samples its tool in the background (e.g. 10s, 500ms).' },
  { name: 'collect.timeout', kind: 'duration', default: '5s', help: 'Bound for one backend sample; a tool still running then is killed.' },
  { name: 'collect.grace-intervals', kind: 'int', default: '3', help: 'Intervals a failing backend\'s last good values are still served before its series are dropped.' },
  { name: 'log.level', kind: 'enum', default: 'info', choices: ['debug', 'info', 'warn', 'error'], help: 'Lowest level logged.' },
  { name: 'log.format', kind: 'enum', default: 'json', choices: ['json', 'logfmt'], help: 'Log line format.' },
];

export function flagSpecs(factories: readonly BackendFactory<any>[], extra: readonly FlagSpec[] = []): FlagSpec[] {
  const specs = [...COMMON_FLAGS];
  for (const f of factories) {
    specs.push({ name: `backend.${f.name}`, kind: 'bool', default: String(f.defaultEnabled), help: `Enable the ${f.name} backend: ${f.description}.` });
    for (const o of f.flags ?? []) specs.push(o);
  }
  return [...specs, ...extra];
}

export type ParseResult = { readonly kind: 'run'; readonly config: Config } | { readonly kind: 'help' } | { readonly kind: 'version' };

export function parseConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  factories: readonly BackendFactory<any>[],
  extra: readonly FlagSpec[] = [],
): ParseResult {
  const specs = flagSpecs(factories, extra);
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

  const get = (name: string) => values.get(name) ?? byName.get(name)!.default;
  const raw: Record<string, string> = {};
  for (const s of specs) raw[s.name] = get(s.name);
  const backends: Record<string, boolean> = {};
  for (const f of factories) backends[f.name] = get(`backend.${f.name}`) === 'true';
  const intervalMs = parseDurationMs(get('collect.interval'))!;
  const timeoutMs = parseDurationMs(get('collect.timeout'))!;
  return {
    kind: 'run',
    config: {
      listen: parseAddress(get('web.listen-address'))!,
      webConfigFile: get('web.config.file'),
      intervalMs,
      timeoutMs,
      graceIntervals: Number(get('collect.grace-intervals')),
      logLevel: get('log.level'),
      logFormat: get('log.format') as 'json' | 'logfmt',
      backends,
      raw,
    },
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

export function parseDurationMs(v: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
  if (!m) return undefined;
  const n = Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return n > 0 && Number.isFinite(n) ? Math.round(n) : undefined;
}

export function parseAddress(v: string): ListenAddress | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]*)):(\d{1,5})$/.exec(v.trim());
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: m[1] ?? m[2] ?? '', port };
}

export function helpText(factories: readonly BackendFactory<any>[], extra: readonly FlagSpec[] = []): string {
  const lines = [
    'Usage: accelerator-exporter [flags]',
    '',
    'Serves accelerator metrics (utilisation, memory, power, temperature, errors, clocks) in',
    'Prometheus format, read in the background from the vendor tools.',
    '',
    'Flags (each also read from the environment variable shown; flags win):',
  ];
  for (const s of flagSpecs(factories, extra)) {
    const name = s.kind === 'bool' ? `--[no-]${s.name}` : `--${s.name}=<${s.kind === 'enum' ? s.choices!.join('|') : s.kind}${s.keyword ? `|${s.keyword}` : ''}>`;
    lines.push(`  ${name}`);
    lines.push(`      ${s.help} (default: ${s.default || '""'}; env ${envName(s.name)})`);
  }
  lines.push('  --help       Show this help and exit.');
  lines.push('  --version    Print the version and exit.');
  lines.push('', 'Endpoints: /metrics (Prometheus text, OpenMetrics on request), /healthz, /readyz.');
  return lines.join('\n') + '\n';
}
