import type { Logger } from 'pino';
import type { BackendReading, Vendor } from '../model.ts';
import type { CommandRunner } from '../exec/runner.ts';
import type { OptionGroup } from '../options.ts';

/**
 * The tool or the devices are absent. Not a failure: a node without a given
 * vendor's accelerators is normal, and the backend reports "no data".
 */
export class NoDataError extends Error {
  override name = 'NoDataError';
}

/**
 * Why a sample failed, a label on the self metrics. `too_large`: the tool's
 * output or a count in it crossed a bound (docs/architecture.md, Bounds);
 * `empty`: a tool that reported devices before now reports none, or prints
 * nothing. `internal` is a bug of the exporter's own (a TypeError in a parser,
 * say), never blamed on the tool; it is exported only once it has happened, so
 * that the pre-initialised series stay those of the tool's failures.
 */
export const FAILURE_REASONS = ['timeout', 'exit_code', 'parse', 'spawn', 'too_large', 'empty', 'internal'] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/** The tool is present but misbehaved; `reason` becomes a label on the self metrics. */
export class BackendError extends Error {
  override name = 'BackendError';
  readonly reason: FailureReason;
  constructor(reason: FailureReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

export interface Backend {
  /** Also the `backend` label of the self metrics. */
  readonly name: string;
  /** One reading; throws NoDataError or BackendError. Must honour the signal. */
  sample(signal: AbortSignal): Promise<BackendReading>;
  /** Process starts of the vendor tool so far (for self metrics and the benchmark). */
  toolStarts(): number;
  close(): Promise<void>;
}

export interface BackendDeps {
  /** The backend's own name (the factory's), for its `name` and its messages. */
  readonly name: string;
  readonly runner: CommandRunner;
  readonly log: Logger;
  /** Bound for one tool run. */
  readonly timeoutMs: number;
  /** How often the backend is sampled: long-running tools derive their liveness bound from it, and backends that sample "since the last time" use it for their first sample. */
  readonly intervalMs?: number;
}

/** A device-plugin id reduced to what a device can be matched on; see src/attribution/device-ids.ts. */
export interface DeviceIdMatch {
  /** A uuid the backend reports (NVIDIA `GPU-...`/`MIG-...`). */
  readonly uuid?: string;
  /** A normalised PCI address. */
  readonly pciBusId?: string;
  /** A device index of this vendor (`nvidia0` on GKE). */
  readonly index?: string;
  /** A slice or share of the device by design (legacy MIG ids, Intel shared-dev-num). */
  readonly replica?: boolean;
  /** An id that names something no backend reports (AMD `amdgpu_xcp_<N>`): never matched. */
  readonly unmatchable?: boolean;
}

/** Host reads a device-id parser may need, passed in so that parsing stays pure. */
export interface HostReads {
  /** The PCI address behind /sys/class/drm/card<N>, or empty. */
  drmCardPciBusId(card: number): string;
}

/** A Kubernetes node label that marks this vendor's nodes; without `value` the key's presence is enough. */
export interface NodeLabel {
  readonly key: string;
  readonly value?: string;
}

/**
 * What the rest of the exporter needs to know about a vendor, declared next to
 * its backends: attribution's defaults and id formats, and the DaemonSet's
 * scheduling (tested against daemonset/base).
 */
export interface VendorFacts {
  /** The `vendor` label. */
  readonly name: Vendor;
  /** Device-plugin resource names (`*` matches anything): the default of --attribution.resource-names. */
  readonly resourceNames: readonly string[];
  /** DRA driver names (`*` matches anything): the default of --attribution.dra-drivers. */
  readonly draDrivers: readonly string[];
  /** This vendor's device-plugin id formats (the replica suffix `::N` already removed); undefined when the id is not one. */
  readonly parseDeviceId?: (id: string, host: HostReads) => DeviceIdMatch | undefined;
  /** Taint keys of this vendor's nodes, tolerated with `operator: Exists`. */
  readonly tolerations: readonly string[];
  /** Node labels that select this vendor's nodes (OR-ed node affinity terms). */
  readonly nodeLabels: readonly NodeLabel[];
}

/** Builds a backend from its dependencies and its typed options. */
export type BackendConstructor<O> = (deps: BackendDeps, options: O) => Backend;

/**
 * One backend as the registry lists it: small, so that listing every backend
 * costs nothing; `load` imports the backend's module only when it is enabled.
 */
export interface BackendFactory<O = unknown> {
  readonly name: string;
  readonly vendor: VendorFacts;
  readonly defaultEnabled: boolean;
  readonly description: string;
  /**
   * Backends this one replaces while it serves devices (nvml reads the GPUs nvidia-smi would):
   * the poller keeps those idle, and never exports both, so no device is exported twice.
   */
  readonly supersedes?: readonly string[];
  /** This backend's options (its tool path), merged into --help and parsed into `O`. */
  readonly options: OptionGroup<O>;
  load(): Promise<BackendConstructor<O>>;
}

/** Declares a backend factory with its options' type inferred from `options`. */
export function backendFactory<O>(f: BackendFactory<O>): BackendFactory<O> {
  return f;
}

/** The vendors of the given backends, each once, in order. */
export function vendorsOf(factories: readonly BackendFactory<any>[]): VendorFacts[] {
  return [...new Set(factories.map((f) => f.vendor))];
}
