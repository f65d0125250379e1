// Value parsing shared by every backend: the spellings tools use for "no
// value", numbers, the units they print, and the one error a parser throws
// when the tool printed something it cannot read. Pure.

export const MIB = 1024 * 1024;
export const MHZ = 1e6;

/** A plain decimal number, as the tools print one (no hex, no unit). */
export const DECIMAL_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * The tool printed something a parser cannot read. The backend turns it into a
 * `parse` failure with the tool's words; any other error thrown while parsing
 * is a bug of ours and is counted as `internal`.
 */
export class ParseError extends Error {
  override name = 'ParseError';
}

/**
 * Every non-value spelling seen in real CSV output: bracketed sentinels
 * (`[N/A]`, `[Not Supported]`, `[Unknown Error]`, `[Insufficient Permissions]`,
 * `[GPU requires reset]`, `[GPU is lost]`, `[Requested functionality has been
 * deprecated]`), bare `N/A`, and the empty string.
 */
export function isAbsent(raw: string | undefined): boolean {
  if (raw === undefined) return true;
  const v = raw.trim();
  return v === '' || v === 'N/A' || (v.startsWith('[') && v.endsWith(']'));
}

/** A decimal or `0x` hex number; anything else is absent (never 0, never NaN). */
export function parseNumber(raw: string | undefined): number | undefined {
  if (isAbsent(raw)) return undefined;
  const v = raw!.trim();
  if (/^0x[0-9a-f]+$/i.test(v)) return Number.parseInt(v.slice(2), 16);
  if (!DECIMAL_RE.test(v)) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * A number followed by an optional unit from `units` (`-f csv,nounits` gives bare
 * numbers, but older releases and plain `csv` append ` MiB`, ` W`, ` C`, ` %`).
 */
export function parseNumberWithUnit(raw: string | undefined, units: readonly string[]): number | undefined {
  if (isAbsent(raw)) return undefined;
  const v = raw!.trim();
  const unit = units.find((u) => v.endsWith(u));
  const n = (unit === undefined ? v : v.slice(0, -unit.length)).trimEnd();
  return /^[+-]?\d+(?:\.\d+)?$/.test(n) ? Number(n) : undefined;
}

/** Enabled/Disabled, Yes/No, Active/Not Active as 1/0; anything else absent. */
export function parseFlag(raw: string | undefined): number | undefined {
  if (isAbsent(raw)) return undefined;
  switch (raw!.trim().toLowerCase()) {
    case 'enabled':
    case 'yes':
    case 'active':
      return 1;
    case 'disabled':
    case 'no':
    case 'not active':
      return 0;
    default:
      return undefined;
  }
}

/** Trimmed text, or undefined for an absent spelling. */
export function parseText(raw: string | undefined): string | undefined {
  return isAbsent(raw) ? undefined : raw!.trim();
}

/** A JSON object, or a ParseError naming `what` was expected. */
export function parseJsonObject(text: string, what: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new ParseError(`${what} is not JSON`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new ParseError(`${what} is not a JSON object`);
  return doc as Record<string, unknown>;
}
