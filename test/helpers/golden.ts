// Golden files of whole /metrics outputs, node_exporter style: compared
// exactly, rewritten with UPDATE_GOLDEN=1 (npm run test:update-golden) and
// reviewed in the diff.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './exporter.ts';

export const GOLDEN_DIR = path.join(ROOT, 'test/golden');

/**
 * Values that move with the clock or the machine are replaced by a marker;
 * the series themselves stay in the golden file, so their presence is checked.
 */
const VOLATILE = [
  /^(accelerator_exporter_backend_last_sample_duration_seconds|accelerator_exporter_backend_last_sample_age_seconds|accelerator_exporter_backend_last_success_timestamp_seconds|accelerator_exporter_attribution_last_refresh_(?:timestamp|age)_seconds|process_[a-z_]+)(\{[^}]*\})? .*$/,
];

export function normalize(body: string): string {
  return body
    .split('\n')
    .map((line) => {
      for (const re of VOLATILE) {
        const m = re.exec(line);
        if (m) return `${m[1]}${m[2] ?? ''} <volatile>`;
      }
      return line.replace(/node_version="[^"]*"/, 'node_version="<node>"');
    })
    .join('\n');
}

export function assertGolden(name: string, actual: string): void {
  const file = path.join(GOLDEN_DIR, name);
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, actual);
    return;
  }
  assert.ok(existsSync(file), `golden file ${name} is missing; run npm run test:update-golden and review it`);
  assert.equal(actual, readFileSync(file, 'utf8'), `output differs from test/golden/${name} (UPDATE_GOLDEN=1 rewrites it)`);
}

/** promtool from Debian's prometheus package; .ci/run installs it. Locally, a missing promtool skips unless CI is set. */
export function promtool(args: readonly string[], input?: string): { available: boolean; status: number; output: string } {
  const r = spawnSync('promtool', args, { input, encoding: 'utf8' });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    if (process.env.CI) throw new Error('promtool is not installed (apt-get install prometheus)');
    return { available: false, status: -1, output: '' };
  }
  return { available: true, status: r.status ?? -1, output: (r.stdout ?? '') + (r.stderr ?? '') };
}
