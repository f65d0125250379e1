import type { Logger } from 'pino';
import type { BackendReading, Vendor } from '../model.ts';
import type { CommandRunner } from '../exec/runner.ts';
import type { FlagSpec } from '../config.ts';

/**
 * The tool or the devices are absent. Not a failure: a node without a given
 * vendor's accelerators is normal, and the backend reports "no data".
 */
export class NoDataError extends Error {
  override name = 'NoDataError';
}

export const FAILURE_REASONS = ['timeout', 'exit_code', 'parse', 'spawn'] as const;
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
  readonly runner: CommandRunner;
  readonly log: Logger;
  /** Bound for one tool run. */
  readonly timeoutMs: number;
  /** The sampling interval (backends that sample "since the last time" use it for the first time). */
  readonly intervalMs?: number;
}

export interface BackendFactory<O = Readonly<Record<string, string>>> {
  readonly name: string;
  readonly vendor: Vendor;
  readonly defaultEnabled: boolean;
  readonly description: string;
  /**
   * Backends this one replaces while it serves devices (nvml reads the GPUs nvidia-smi would):
   * the poller keeps those idle, and never exports both, so no device is exported twice.
   */
  readonly supersedes?: readonly string[];
  /** Flags of this backend (tool paths), merged into --help and the config. */
  readonly flags?: readonly FlagSpec[];
  /** Receives every flag's value by name. */
  create(deps: BackendDeps, flags: O): Backend;
}
