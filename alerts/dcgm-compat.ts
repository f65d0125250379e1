// dcgm-exporter compatibility: every field of dcgm-exporter's default counters
// (etc/default-counters.csv), what of ours stands for it, and the recording
// rules that rebuild its name, unit and labels from our series, so dashboards
// written for dcgm-exporter keep working during a move. One table feeds the
// rules file (alerts/dcgm-compat.rules.yaml) and the table in
// docs/migration-from-dcgm-exporter.md; `node dashboards/build.ts` writes both.

export const DCGM_RULES_FILE = 'alerts/dcgm-compat.rules.yaml';
export const DCGM_DOC_BEGIN = '<!-- BEGIN GENERATED DCGM TABLE: npm run build:observability -->';
export const DCGM_DOC_END = '<!-- END GENERATED DCGM TABLE -->';

/** The series the per-field rules join to: one per GPU and holding container, carrying dcgm-exporter's labels. */
export const LABELS_RECORD = 'uuid:accelerator_dcgm_labels:info';

/** dcgm-exporter's labels on a GPU series (render_metrics.go), and the target labels kept. */
export const DCGM_LABELS = ['gpu', 'UUID', 'pci_bus_id', 'device', 'modelName', 'Hostname', 'hostname', 'DCGM_FI_DRIVER_VERSION', 'namespace', 'pod', 'container'] as const;
const KEEP = ['job', 'instance', ...DCGM_LABELS];

export interface DcgmField {
  /** dcgm-exporter's series name. */
  readonly field: string;
  readonly type: 'gauge' | 'counter' | 'label';
  /** dcgm-exporter's unit, as its counters file says. */
  readonly unit: string;
  /** Our series it comes from (documentation). */
  readonly ours: string;
  /** PromQL of the value in dcgm-exporter's unit, one series per GPU keyed by (job, instance, uuid); absent when we have no equivalent. */
  readonly expr?: string;
  /** What differs, or why there is no rule. */
  readonly note: string;
}

const GPU = 'vendor="nvidia", parent_uuid=""';
const MIB = 1048576;

export const DCGM_FIELDS: readonly DcgmField[] = [
  { field: 'DCGM_FI_DEV_SM_CLOCK', type: 'gauge', unit: 'MHz', ours: 'accelerator_clock_hertz{clock="sm"} (Hz)', expr: `accelerator_clock_hertz{${GPU}, clock="sm"} / 1e6`, note: '' },
  { field: 'DCGM_FI_DEV_MEM_CLOCK', type: 'gauge', unit: 'MHz', ours: 'accelerator_clock_hertz{clock="memory"} (Hz)', expr: `accelerator_clock_hertz{${GPU}, clock="memory"} / 1e6`, note: '' },
  { field: 'DCGM_FI_DEV_MEMORY_TEMP', type: 'gauge', unit: '°C', ours: 'hw_temperature_celsius{sensor="memory"}', expr: `hw_temperature_celsius{${GPU}, sensor="memory"}`, note: '' },
  { field: 'DCGM_FI_DEV_GPU_TEMP', type: 'gauge', unit: '°C', ours: 'hw_temperature_celsius{sensor="gpu"}', expr: `hw_temperature_celsius{${GPU}, sensor="gpu"}`, note: '' },
  { field: 'DCGM_FI_DEV_POWER_USAGE', type: 'gauge', unit: 'W', ours: 'hw_power_watts', expr: `hw_power_watts{${GPU}}`, note: '' },
  {
    field: 'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION',
    type: 'counter',
    unit: 'mJ',
    ours: 'hw_energy_joules_total (J)',
    expr: `hw_energy_joules_total{${GPU}} * 1000`,
    note: 'nvidia-smi has no energy counter, so through the nvidia-smi backend this series is absent; a backend reading NVML exports it.',
  },
  { field: 'DCGM_FI_DEV_PCIE_REPLAY_COUNTER', type: 'counter', unit: 'count', ours: '(none)', note: 'nvidia-smi --query-gpu has no PCIe replay counter.' },
  {
    field: 'DCGM_FI_DEV_GPU_UTIL',
    type: 'gauge',
    unit: '%',
    ours: 'hw_gpu_utilization_ratio (0..1)',
    expr: `hw_gpu_utilization_ratio{${GPU}} * 100`,
    note: 'Absent on a MIG-enabled GPU, as in dcgm-exporter.',
  },
  { field: 'DCGM_FI_DEV_MEM_COPY_UTIL', type: 'gauge', unit: '%', ours: 'accelerator_memory_controller_utilization_ratio (0..1)', expr: `accelerator_memory_controller_utilization_ratio{${GPU}} * 100`, note: '' },
  { field: 'DCGM_FI_DEV_ENC_UTIL', type: 'gauge', unit: '%', ours: 'accelerator_engine_utilization_ratio{engine="encoder"} (0..1)', expr: `accelerator_engine_utilization_ratio{${GPU}, engine="encoder"} * 100`, note: '' },
  { field: 'DCGM_FI_DEV_DEC_UTIL', type: 'gauge', unit: '%', ours: 'accelerator_engine_utilization_ratio{engine="decoder"} (0..1)', expr: `accelerator_engine_utilization_ratio{${GPU}, engine="decoder"} * 100`, note: '' },
  {
    field: 'DCGM_FI_DEV_XID_ERRORS',
    type: 'gauge',
    unit: 'XID number',
    ours: 'accelerator_recovery_action (related, not equal)',
    note: 'nvidia-smi does not report XID events; the driver\'s recovery action (AcceleratorRecoveryActionRequired) is what critical XIDs lead to.',
  },
  { field: 'DCGM_FI_DEV_FB_FREE', type: 'gauge', unit: 'MiB', ours: 'hw_gpu_memory_limit_bytes - hw_gpu_memory_usage_bytes (bytes)', expr: `(hw_gpu_memory_limit_bytes{${GPU}} - hw_gpu_memory_usage_bytes{${GPU}}) / ${MIB}`, note: 'Includes the memory the driver reserves, which dcgm-exporter reports apart (FB_RESERVED): higher by that amount, a few hundred MiB.' },
  { field: 'DCGM_FI_DEV_FB_USED', type: 'gauge', unit: 'MiB', ours: 'hw_gpu_memory_usage_bytes (bytes)', expr: `hw_gpu_memory_usage_bytes{${GPU}} / ${MIB}`, note: '' },
  { field: 'DCGM_FI_DEV_FB_RESERVED', type: 'gauge', unit: 'MiB', ours: '(none)', note: 'Not exported: memory.reserved is not one of our families.' },
  { field: 'DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL', type: 'counter', unit: 'count', ours: '(none)', note: 'nvidia-smi --query-gpu has no NVLink counters.' },
  { field: 'DCGM_FI_DEV_VGPU_LICENSE_STATUS', type: 'gauge', unit: 'state', ours: '(none)', note: 'vGPU licensing is not exported.' },
  { field: 'DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS', type: 'counter', unit: 'rows', ours: 'accelerator_remapped_rows{kind="uncorrectable"}', expr: `accelerator_remapped_rows{${GPU}, kind="uncorrectable"}`, note: '' },
  { field: 'DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS', type: 'counter', unit: 'rows', ours: 'accelerator_remapped_rows{kind="correctable"}', expr: `accelerator_remapped_rows{${GPU}, kind="correctable"}`, note: '' },
  { field: 'DCGM_FI_DEV_ROW_REMAP_FAILURE', type: 'gauge', unit: '0/1', ours: 'accelerator_remapped_rows_failure', expr: `accelerator_remapped_rows_failure{${GPU}}`, note: '' },
  { field: 'DCGM_FI_DRIVER_VERSION', type: 'label', unit: '', ours: 'accelerator_info{driver_version}', note: 'A label of every compatibility series, from accelerator_info.' },
  { field: 'DCGM_FI_PROF_GR_ENGINE_ACTIVE', type: 'gauge', unit: 'ratio', ours: '(none yet)', note: 'Profiling (DCP/GPM) metric: not readable through nvidia-smi.' },
  { field: 'DCGM_FI_PROF_PIPE_TENSOR_ACTIVE', type: 'gauge', unit: 'ratio', ours: '(none yet)', note: 'Profiling (DCP/GPM) metric: not readable through nvidia-smi.' },
  { field: 'DCGM_FI_PROF_DRAM_ACTIVE', type: 'gauge', unit: 'ratio', ours: '(none yet)', note: 'Profiling (DCP/GPM) metric: not readable through nvidia-smi.' },
  {
    field: 'DCGM_FI_PROF_PCIE_TX_BYTES',
    type: 'gauge',
    unit: 'B/s',
    ours: 'accelerator_pcie_throughput_bytes_per_second (both directions)',
    note: 'Ours is the sum of both directions; there is no transmit-only value to map.',
  },
  {
    field: 'DCGM_FI_PROF_PCIE_RX_BYTES',
    type: 'gauge',
    unit: 'B/s',
    ours: 'accelerator_pcie_throughput_bytes_per_second (both directions)',
    note: 'Ours is the sum of both directions; there is no receive-only value to map.',
  },
];

/** One series per NVIDIA GPU with dcgm-exporter's GPU labels, keyed by (job, instance, uuid). */
export const GPU_LABELS_RECORD = 'uuid:accelerator_dcgm_gpu_labels:info';

function gpuLabelsExpr(): string {
  let e = `max by (job, instance, node, uuid, gpu, pci_bus_id, model, driver_version) (accelerator_info{${GPU}})`;
  const replace = (dst: string, replacement: string, src: string) => {
    e = `label_replace(\n  ${e.split('\n').join('\n  ')},\n  "${dst}", "${replacement}", "${src}", "(.+)"\n)`;
  };
  replace('UUID', '$1', 'uuid');
  replace('modelName', '$1', 'model');
  // dcgm-exporter renamed Hostname to hostname in 2026 (#655); dashboards use either.
  replace('Hostname', '$1', 'node');
  replace('hostname', '$1', 'node');
  replace('device', 'nvidia$1', 'gpu');
  replace('DCGM_FI_DRIVER_VERSION', '$1', 'driver_version');
  // dcgm-exporter prints NVML's bus id: an 8-digit PCI domain.
  replace('pci_bus_id', '0000$1', 'pci_bus_id');
  return `max without (node, model, driver_version) (\n  ${e.split('\n').join('\n  ')}\n)`;
}

/**
 * An allocated GPU once per holding container (as dcgm-exporter's
 * --kubernetes-virtual-gpus does), a free GPU once without pod labels.
 */
function labelsExpr(): string {
  const gpuLabels = DCGM_LABELS.filter((l) => !['namespace', 'pod', 'container'].includes(l));
  return `${GPU_LABELS_RECORD}
  * on (job, instance, uuid) group_right (${gpuLabels.join(', ')})
max by (job, instance, uuid, namespace, pod, container) (accelerator_allocation_info)
or on (job, instance, uuid)
${GPU_LABELS_RECORD}`;
}

function fieldExpr(f: DcgmField): string {
  return `max by (${KEEP.join(', ')}) (\n  (${f.expr})\n    * on (job, instance, uuid) group_right\n  ${LABELS_RECORD}\n)`;
}

function block(text: string, indent: string): string {
  return text
    .split('\n')
    .map((l) => indent + l)
    .join('\n');
}

export function dcgmRulesYaml(): string {
  let out = `# Generated from alerts/dcgm-compat.ts by \`node dashboards/build.ts\`; do not edit.
#
# Optional compatibility recording rules: dcgm-exporter's series names, units
# and labels (gpu, UUID, pci_bus_id, device, modelName, Hostname/hostname,
# DCGM_FI_DRIVER_VERSION, namespace, pod, container) rebuilt from
# accelerator-exporter's series, so dashboards written for dcgm-exporter keep
# working while a fleet moves. Load beside accelerator.rules.yaml only while
# you need them: each rule adds one series per GPU (per holding container).
# docs/migration-from-dcgm-exporter.md lists what cannot be rebuilt.
#
# Label assumptions as in accelerator.rules.yaml: honorLabels keeps the
# exporter's namespace/pod/container, and every series carries \`node\`
# (it becomes Hostname).
groups:
  - name: accelerator-exporter.dcgm-compat.rules
    # Every rule joins per GPU; at 1000 eight-GPU nodes the group costs several CPU
    # seconds (docs/scaling.md), and dcgm-exporter itself samples every 30 s.
    interval: 1m
    rules:
      - record: ${GPU_LABELS_RECORD}
        expr: |
${block(gpuLabelsExpr(), '          ')}
      - record: ${LABELS_RECORD}
        expr: |
${block(labelsExpr(), '          ')}
`;
  for (const f of DCGM_FIELDS) {
    if (!f.expr) continue;
    out += `      - record: ${f.field}\n        expr: |\n${block(fieldExpr(f), '          ')}\n`;
  }
  return out;
}

export function dcgmTable(): string {
  const rows = ['| dcgm-exporter field | Type | Unit | Ours | Rule | Notes |', '| --- | --- | --- | --- | --- | --- |'];
  for (const f of DCGM_FIELDS) {
    const rule = f.type === 'label' ? 'label' : f.expr ? '`' + f.expr.replace(/\|/g, '\\|') + '`' : 'none';
    const m = /^([^ ]+(?: - [^ ]+)?)(?: \((.+)\))?$/.exec(f.ours);
    const ours = f.ours.startsWith('(') || !m ? f.ours : `\`${m[1]}\`${m[2] ? ` (${m[2]})` : ''}`;
    rows.push(`| \`${f.field}\` | ${f.type} | ${f.unit} | ${ours} | ${rule} | ${f.note} |`);
  }
  return rows.join('\n') + '\n';
}
