// Every count and size that comes from outside the exporter has a bound here,
// so that a broken or hostile tool or kubelet costs a failed sample, never the
// process (docs/architecture.md, "Bounds").

/**
 * Devices one backend may report. The largest nodes shipping today carry 8-16
 * accelerators, 64 partitions with AMD CPX or MIG; a reading past this is a
 * broken tool, and the sample fails as `too_large`.
 */
export const MAX_DEVICES_PER_BACKEND = 256;

/** NeuronCores per Neuron device (trn2: 8); a report claiming more is broken. */
export const MAX_CORES_PER_DEVICE = 256;

/** stdout of one tool run, capped while it is read; past it the tool is killed and the sample fails as `too_large`. */
export const MAX_TOOL_OUTPUT_BYTES = 16 * 1024 * 1024;

/**
 * One neuron-monitor report (one line). A trn2.48xlarge report with every
 * runtime is tens of KiB; past this the line is skipped unparsed.
 */
export const MAX_REPORT_LINE_BYTES = 4 * 1024 * 1024;

/**
 * Pods in one kubelet pod-resources answer. The kubelet's own maximum is 110
 * by default and rarely above a few hundred; past this the answer is refused.
 */
export const MAX_PODS_PER_NODE = 2000;
