// Typed options: a flag declared once, with its text form (for --help, the
// environment and the docs) and the typed value it parses to. A module that
// needs options declares an `OptionGroup` of them and receives the parsed
// object, so a misspelt option is a compile error, not a silent default.

export type FlagKind = 'string' | 'duration' | 'bool' | 'address' | 'enum' | 'int';

export interface FlagSpec {
  readonly name: string;
  readonly kind: FlagKind;
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

/** One flag and how its (already validated) text becomes a value. */
export interface Option<T> {
  readonly flag: FlagSpec;
  readonly parse: (text: string) => T;
}

/** The options of one module, keyed by the property its typed object has. */
export type OptionGroup<O> = { readonly [K in keyof O]: Option<O[K]> };

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

/** Constructors of options, one per kind; values are checked by the config parser before `parse` runs. */
export const option = {
  string: (name: string, def: string, help: string): Option<string> => ({ flag: { name, kind: 'string', default: def, help }, parse: (t) => t }),
  bool: (name: string, def: boolean, help: string): Option<boolean> => ({ flag: { name, kind: 'bool', default: String(def), help }, parse: (t) => t === 'true' }),
  int: (name: string, def: number, help: string): Option<number> => ({ flag: { name, kind: 'int', default: String(def), help }, parse: Number }),
  /** Milliseconds. */
  duration: (name: string, def: string, help: string): Option<number> => ({ flag: { name, kind: 'duration', default: def, help }, parse: (t) => parseDurationMs(t)! }),
  /** Milliseconds, or the keyword itself. */
  durationOr: <K extends string>(name: string, keyword: K, def: string, help: string): Option<number | K> => ({
    flag: { name, kind: 'duration', keyword, default: def, help },
    parse: (t) => (t === keyword ? keyword : parseDurationMs(t)!),
  }),
  enum: <C extends string>(name: string, choices: readonly C[], def: C, help: string): Option<C> => ({ flag: { name, kind: 'enum', choices, default: def, help }, parse: (t) => t as C }),
  address: (name: string, def: string, help: string): Option<ListenAddress> => ({ flag: { name, kind: 'address', default: def, help }, parse: (t) => parseAddress(t)! }),
};

export function groupFlags<O>(group: OptionGroup<O>): FlagSpec[] {
  return (Object.values(group) as Option<unknown>[]).map((o) => o.flag);
}

/** The typed object of a group, from each flag's text value. */
export function readGroup<O>(group: OptionGroup<O>, text: (flag: string) => string): O {
  const out: Partial<O> = {};
  for (const key of Object.keys(group) as (keyof O)[]) {
    const o = group[key];
    out[key] = o.parse(text(o.flag.name));
  }
  return out as O;
}
