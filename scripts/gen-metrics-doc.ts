// Regenerates the metric table in docs/metrics.md from the declared families.
import { readFileSync, writeFileSync } from 'node:fs';
import { allFamilies } from '../src/metrics/catalog.ts';
import { metricsTable, replaceGenerated } from '../src/metrics/docs.ts';
import { budgetTable, replaceBudget } from '../src/metrics/series-budget.ts';
import { OTEL_DOC_BEGIN, OTEL_DOC_END, otelNamesTable } from '../src/telemetry/otel-names.ts';

const file = new URL('../docs/metrics.md', import.meta.url);
writeFileSync(file, replaceGenerated(readFileSync(file, 'utf8'), metricsTable(allFamilies())));

const otelFile = new URL('../docs/opentelemetry.md', import.meta.url);
const otelDoc = readFileSync(otelFile, 'utf8');
const a = otelDoc.indexOf(OTEL_DOC_BEGIN);
const b = otelDoc.indexOf(OTEL_DOC_END);
if (a < 0 || b < a) throw new Error(`docs/opentelemetry.md lacks the ${OTEL_DOC_BEGIN} ... ${OTEL_DOC_END} markers`);
writeFileSync(otelFile, otelDoc.slice(0, a + OTEL_DOC_BEGIN.length) + '\n' + otelNamesTable(allFamilies()) + otelDoc.slice(b));

// Series per node, counted from the goldens.
const budgetDoc = readFileSync(file, 'utf8');
writeFileSync(file, replaceBudget(budgetDoc, budgetTable((golden) => readFileSync(new URL(`../test/golden/${golden}`, import.meta.url), 'utf8'))));
