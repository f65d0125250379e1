// Active series per device and per node for each vendor capture, counted from
// the golden /metrics outputs the end-to-end tests hold, with and without the
// recommended fleet exclusion. docs/metrics.md carries the table (npm run docs)
// and a test fails when it no longer matches the goldens.

import { allFamilies } from './catalog.ts';
import { FLEET_LEAN_EXCLUDE, metricSelection, selectFamilies } from './selection.ts';

export const BUDGET_BEGIN = '<!-- BEGIN GENERATED SERIES BUDGET: npm run docs -->';
export const BUDGET_END = '<!-- END GENERATED SERIES BUDGET -->';

/** Goldens of a healthy sample of each capture, by path under test/golden/. */
export const BUDGET_CAPTURES: readonly { readonly capture: string; readonly golden: string }[] = [
  { capture: 'NVIDIA H100 80GB HBM3, nvidia-smi 590.48.01, under load', golden: 'nvidia/h100-load.prom' },
  { capture: 'NVIDIA H100 80GB HBM3 with MIG, nvidia-smi 590.48.01', golden: 'nvidia/h100-mig-load.prom' },
  { capture: 'NVIDIA RTX 2080 SUPER, nvidia-smi 610.57.04', golden: 'nvidia/rtx-2080-super-610-load.prom' },
  { capture: 'AMD MI300X CPX partitions, amd-smi ROCm 7', golden: 'amd/amd-smi-mi300x-cpx-rocm7.prom' },
  { capture: 'AMD Radeon, amd-smi ROCm 6.3', golden: 'amd/amd-smi-radeon-rocm6.3.prom' },
  { capture: 'AMD MI100 x6, rocm-smi ROCm 5.7.1', golden: 'amd/rocm-smi-mi100-6x-rocm5.7.1.prom' },
  { capture: 'Intel Data Center GPU Max 1100 x2, xpu-smi', golden: 'intel/max-1100-2x.prom' },
  { capture: 'Intel Data Center GPU Max 1550 with tiles, xpu-smi', golden: 'intel/max-1550-tiles.prom' },
  { capture: 'Intel Gaudi (HL-205) x8, hl-smi 1.18.0', golden: 'gaudi/hl-205-gaudi1.prom' },
  { capture: 'Intel Gaudi 3 (HL-325L) x2, hl-smi 1.22.1', golden: 'gaudi/hl-325l-gaudi3.prom' },
  { capture: 'AWS Trainium (trn1.2xlarge), neuron-monitor', golden: 'neuron/trn1-2xlarge.prom' },
];

export interface Budget {
  /** Physical devices (accelerator_device_up with an empty parent_uuid). */
  readonly devices: number;
  /** Series naming a device (uuid or pci_bus_id set), partitions included, per physical device. */
  readonly perDevice: number;
  /** Series of the node as a whole (the exporter's own). */
  readonly perNode: number;
}

/** Counts the series of one /metrics text, keeping only the families `exclude` leaves. */
export function seriesBudget(text: string, exclude = ''): Budget {
  const kept = new Set(selectFamilies(allFamilies(), metricSelection({ 'metrics.exclude': exclude })).families.map((f) => f.name));
  let devices = 0;
  let device = 0;
  let node = 0;
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0];
    if (name === 'accelerator_device_up' && line.includes('parent_uuid=""')) devices++;
    if (!kept.has(name)) continue;
    if (/(?:^|[{,])(?:uuid|pci_bus_id)="[^"]/.test(line)) device++;
    else node++;
  }
  return { devices, perDevice: devices ? device / devices : 0, perNode: node };
}

const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));

/** The docs table; `read` gives a golden's text by its path under test/golden/. */
export function budgetTable(read: (golden: string) => string): string {
  const rows = [
    '| Capture | Devices | Series per device | Node-level series | 8-device node | 8-device node, lean |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const { capture, golden } of BUDGET_CAPTURES) {
    const text = read(golden);
    const all = seriesBudget(text);
    const lean = seriesBudget(text, FLEET_LEAN_EXCLUDE);
    rows.push(
      `| ${capture} (\`${golden}\`) | ${all.devices} | ${fmt(all.perDevice)} (lean ${fmt(lean.perDevice)}) | ${all.perNode} | ${Math.round(8 * all.perDevice + all.perNode)} | ${Math.round(8 * lean.perDevice + lean.perNode)} |`,
    );
  }
  return rows.join('\n') + '\n';
}

export function replaceBudget(doc: string, table: string): string {
  const a = doc.indexOf(BUDGET_BEGIN);
  const b = doc.indexOf(BUDGET_END);
  if (a < 0 || b < a) throw new Error(`docs/metrics.md lacks the ${BUDGET_BEGIN} ... ${BUDGET_END} markers`);
  return doc.slice(0, a + BUDGET_BEGIN.length) + '\n' + table + doc.slice(b);
}
