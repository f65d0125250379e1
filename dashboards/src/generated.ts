// Every generated file, by path relative to the repository root.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROMETHEUS_RULE_FILE, prometheusRule, RULES_FILE } from '../../alerts/prometheusrule.ts';

export function generatedFiles(root: string): Map<string, string> {
  const files = new Map<string, string>();
  files.set(PROMETHEUS_RULE_FILE, prometheusRule(readFileSync(path.join(root, RULES_FILE), 'utf8')));
  return files;
}
