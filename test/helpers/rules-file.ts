// Reads what the tests need from the rules files without a YAML library: the
// files are ours and follow one layout (`- alert:`/`- record:` items, a
// `runbook_url:` per alert, promtool tests with `alertname:` followed by
// `exp_alerts:`), and promtool checks the YAML itself.

export interface AlertRule {
  readonly name: string;
  readonly text: string;
}

/** Each `- alert:` item with its text up to the next rule. */
export function alertRules(yaml: string): AlertRule[] {
  const parts = yaml.split(/\n(?=\s*- (?:alert|record):)/);
  const out: AlertRule[] = [];
  for (const p of parts) {
    const m = /^\s*- alert: (\w+)/.exec(p);
    if (m) out.push({ name: m[1]!, text: p });
  }
  return out;
}

export function recordNames(yaml: string): string[] {
  return [...yaml.matchAll(/^\s*- record: (\S+)$/gm)].map((m) => m[1]!);
}

/** Alert names with a promtool case expecting it to fire, and one expecting silence. */
export function alertTestCases(testYaml: string): { firing: Set<string>; silent: Set<string> } {
  const firing = new Set<string>();
  const silent = new Set<string>();
  for (const m of testYaml.matchAll(/alertname: (\w+)\n\s+exp_alerts:( \[\])?/g)) (m[2] ? silent : firing).add(m[1]!);
  return { firing, silent };
}
