// Every metric family the exporter can serve, in exposition order. The app
// renders these, docs/metrics.md is generated from them, and a test fails
// when the two disagree.

import { ATTRIBUTION_FAMILIES, ATTRIBUTION_SCRAPE_FAMILIES } from './attribution-families.ts';
import { DEVICE_FAMILIES, DEVICE_UP_FAMILY } from './device-families.ts';
import type { MetricFamily } from './family.ts';
import { NVML_DEVICE_FAMILIES } from './nvml-families.ts';
import { SCRAPE_TIME_FAMILIES, snapshotSelfFamilies, type BuildInfo } from './self-families.ts';

/** Rendered once per snapshot. */
export function snapshotFamilies(build: BuildInfo): MetricFamily[] {
  return [...DEVICE_FAMILIES, ...NVML_DEVICE_FAMILIES, DEVICE_UP_FAMILY, ...snapshotSelfFamilies(build), ...ATTRIBUTION_FAMILIES];
}

/** Rendered on every scrape (values that move with the clock). */
export const scrapeFamilies: readonly MetricFamily[] = [...SCRAPE_TIME_FAMILIES, ...ATTRIBUTION_SCRAPE_FAMILIES];

export function allFamilies(): MetricFamily[] {
  return [...snapshotFamilies({ version: '', nodeVersion: '' }), ...scrapeFamilies];
}
