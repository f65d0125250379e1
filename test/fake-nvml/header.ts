// Constants of the vendored nvml.h (enum members and #defines), so that state
// files and tests name NVML values the way the header does instead of
// repeating numbers.
import { readFileSync } from 'node:fs';

export const NVML_HEADER = new URL('./include/nvml.h', import.meta.url).pathname;

let cache: Map<string, number> | undefined;

/** Every `NAME = <number>` enum member and `#define NAME <number>` of nvml.h. */
export function nvmlConstants(): Map<string, number> {
  if (cache) return cache;
  const text = readFileSync(NVML_HEADER, 'utf8');
  const map = new Map<string, number>();
  const literal = (s: string): number | undefined => {
    const m = /^\(?\s*(0x[0-9a-f]+|\d+)(?:u|ul|ull|ll|l)*\s*\)?$/i.exec(s.trim());
    return m ? Number(BigInt(m[1]!)) : undefined;
  };
  for (const m of text.matchAll(/^\s*#define\s+(NVML_\w+|nvml\w+)\s+([^\s/]+)/gm)) {
    const [, name, value] = m as unknown as [string, string, string];
    const v = literal(value) ?? map.get(value);
    if (v !== undefined) map.set(name, v);
  }
  for (const m of text.matchAll(/^\s*(NVML_\w+)\s*=\s*([^,/\n]+)/gm)) {
    const [, name, value] = m as unknown as [string, string, string];
    const v = literal(value) ?? map.get(value.trim());
    if (v !== undefined && !map.has(name)) map.set(name, v);
  }
  cache = map;
  return map;
}

/** The value of one nvml.h constant; throws for a name the header lacks. */
export function nvml(name: string): number {
  const v = nvmlConstants().get(name);
  if (v === undefined) throw new Error(`nvml.h has no constant ${name}`);
  return v;
}
