import type { FailureReason } from '../backends/backend.ts';
import type { DeviceIdentity, DeviceSample, ProcessSample } from '../model.ts';

export type BackendState = 'pending' | 'ok' | 'no_data' | 'failed';
export const BACKEND_STATES: readonly Exclude<BackendState, 'pending'>[] = ['ok', 'no_data', 'failed'];

export interface BackendStatus {
  readonly name: string;
  readonly state: BackendState;
  readonly lastAttemptMs?: number;
  readonly lastSuccessMs?: number;
  readonly lastDurationSeconds?: number;
  readonly failures: Readonly<Record<FailureReason, number>>;
  /** Why the last attempt was not ok (no-data explanation or failure text). */
  readonly lastMessage?: string;
  readonly toolStarts: number;
  /** Devices this backend contributes to the snapshot now. */
  readonly devices: number;
  /** True while failing but still inside the grace period, serving the last good reading. */
  readonly servingLastGood: boolean;
}

export interface DeviceHealth {
  readonly id: DeviceIdentity;
  /** 1 while the device is read, 0 while the tool says it cannot reach it. */
  readonly up: number;
  readonly message?: string;
}

/** Everything a scrape renders: built by the poller, read-only afterwards. */
export interface Snapshot {
  readonly takenAtMs: number;
  readonly devices: readonly DeviceSample[];
  readonly processes: readonly ProcessSample[];
  /** Devices whose backend listed its processes this sample: only these get a process count. */
  readonly processListed: ReadonlySet<string>;
  readonly health: readonly DeviceHealth[];
  readonly backends: readonly BackendStatus[];
}

export function compareDevices(a: DeviceIdentity, b: DeviceIdentity): number {
  if (a.vendor !== b.vendor) return a.vendor < b.vendor ? -1 : 1;
  const ai = Number(a.index);
  const bi = Number(b.index);
  if (Number.isFinite(ai) && Number.isFinite(bi) && ai !== bi) return ai - bi;
  if (a.index !== b.index) return a.index < b.index ? -1 : 1;
  if (a.pciBusId !== b.pciBusId) return a.pciBusId < b.pciBusId ? -1 : 1;
  return a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0;
}
