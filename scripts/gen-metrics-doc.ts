// Regenerates the metric table in docs/metrics.md from the declared families.
import { readFileSync, writeFileSync } from 'node:fs';
import { allFamilies } from '../src/metrics/catalog.ts';
import { metricsTable, replaceGenerated } from '../src/metrics/docs.ts';

const file = new URL('../docs/metrics.md', import.meta.url);
writeFileSync(file, replaceGenerated(readFileSync(file, 'utf8'), metricsTable(allFamilies())));
