// Writes every generated observability file: the Grafana dashboards (JSON),
// the ConfigMap that ships them to Grafana's sidecar, and the PrometheusRule
// made from alerts/accelerator.rules.yaml. `node dashboards/build.ts`;
// test/observability/generated.test.ts fails when the committed files differ.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedFiles } from './src/generated.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
for (const [file, text] of generatedFiles(root)) {
  writeFileSync(path.join(root, file), text);
  console.log(`wrote ${file}`);
}
