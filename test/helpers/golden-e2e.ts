// The shape every backend's end-to-end test shares: the real exporter against
// the backend's fake tool, one scenario per golden file, the whole /metrics
// compared and linted with promtool.

import assert from 'node:assert/strict';
import { it } from 'node:test';
import { startExporter, waitFor, type RunningExporter } from './exporter.ts';
import { assertGolden, normalize, promtool } from './golden.ts';

export interface GoldenScenario {
  /** File under test/golden/. */
  readonly golden: string;
  readonly env?: Readonly<Record<string, string>>;
  /** Extra flags; they come last, so `--collect.timeout=2s` for a hang scenario wins. */
  readonly args?: readonly string[];
  /** Shown after the golden name when several scenarios share one golden file. */
  readonly title?: string;
}

/** The page once the backend has finished its first sample, whatever its outcome. */
export function firstSample(e: RunningExporter, backend: string): Promise<string> {
  return waitFor(`the first ${backend} sample`, async () => {
    const r = await e.scrape();
    return r.body.includes(`accelerator_exporter_backend_state{backend="${backend}"`) && r.body;
  });
}

export function lintMetrics(name: string, body: string): void {
  const r = promtool(['check', 'metrics'], body);
  if (r.available) assert.equal(r.status, 0, `promtool check metrics failed for ${name}:\n${r.output}`);
}

/**
 * One test per scenario. The sample bound is generous (a loaded 2-core machine
 * starts the fake tools slowly) and the interval long, so exactly one sample is taken.
 */
export function goldenScenarios(backend: string, fakeTool: string, scenarios: readonly GoldenScenario[], baseEnv: Readonly<Record<string, string>> = {}): void {
  for (const sc of scenarios) {
    it(`serves ${sc.golden}${sc.title ? ` (${sc.title})` : ''}`, async () => {
      const e = await startExporter(['--collect.interval=1h', '--collect.timeout=20s', `--${backend}.path=${fakeTool}`, ...(sc.args ?? [])], { ...baseEnv, ...sc.env });
      try {
        const body = await firstSample(e, backend);
        assertGolden(sc.golden, normalize(body));
        lintMetrics(sc.golden, body);
      } finally {
        await e.stop();
      }
    });
  }
}

/** The page once it satisfies the predicate (scraped repeatedly; the deadline only guards against a hang). */
export function scrapeUntil(e: RunningExporter, what: string, pred: (body: string) => boolean, deadlineMs?: number): Promise<string> {
  return waitFor(what, async () => {
    const b = (await e.scrape()).body;
    return pred(b) && b;
  }, deadlineMs);
}

/**
 * normalize() for a test that samples repeatedly: how often the tool ran by
 * the time of the scrape is timing, not behaviour.
 */
export function normalizeRepeated(body: string): string {
  return normalize(body).replace(/^(accelerator_exporter_tool_starts_total\{[^}]*\}) \d+$/gm, '$1 <volatile>');
}
