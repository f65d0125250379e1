// NVIDIA GPUs through NVML (libnvidia-ml.so.1), in process: no tool starts.
// The library is loaded on the first sample; absent, or nvmlInit saying the
// driver is not loaded, is "no data", and the nvidia-smi backend (which this
// one supersedes) takes over. Calls are made one at a time on koffi's worker
// threads; a call that never returns holds one worker thread, and every later
// sample fails fast with a timeout until it returns, so a hung driver cannot
// pile up blocked threads or stall /metrics.

import type { Logger } from 'pino';
import { type BackendReading, type DeviceIdentity, type DeviceSample, type LostDevice, type ProcessSample, type ProfilingMetric } from '../../model.ts';
import { BackendError, NoDataError, type Backend } from '../backend.ts';
import { EVENT_TYPE_XID_CRITICAL_ERROR, GPM_METRIC, NVML, errorText, type DeviceHandle, type EventSetHandle, type GpmSampleHandle, type NvmlApi } from './nvml-api.ts';
import { DeviceLostError, ok, readIdentity, readMigDevices, readPhysical, type MigDevice } from './nvml-read.ts';

export interface NvmlOptions {
  /** Library name or path, resolved by the dynamic loader. */
  readonly library: string;
  readonly intervalMs: number;
}

export type NvmlLoader = (library: string) => Promise<NvmlApi>;

/** NVML answers meaning "no NVIDIA driver or GPU here", not a failure. */
const NO_DATA_INIT = new Set<number>([NVML.ERROR_DRIVER_NOT_LOADED, NVML.ERROR_LIBRARY_NOT_FOUND, NVML.ERROR_GPU_NOT_FOUND, NVML.ERROR_NOT_FOUND]);

/** Events drained per sample at most; the rest wait for the next one. */
const MAX_EVENTS_PER_SAMPLE = 1024;
/** The first interval has no earlier GPM sample: it takes two this far apart. */
const FIRST_GPM_GAP_MS = 100;

/** GPM metric -> profiling key, and the factor to our units (percent -> ratio, MiB/s -> bytes/s). */
const GPM_READS: readonly (readonly [ProfilingMetric, number, number])[] = [
  ['graphics_active', GPM_METRIC.GRAPHICS_UTIL, 0.01],
  ['sm_active', GPM_METRIC.SM_UTIL, 0.01],
  ['sm_occupancy', GPM_METRIC.SM_OCCUPANCY, 0.01],
  ['tensor_active', GPM_METRIC.ANY_TENSOR_UTIL, 0.01],
  ['fp64_active', GPM_METRIC.FP64_UTIL, 0.01],
  ['fp32_active', GPM_METRIC.FP32_UTIL, 0.01],
  ['fp16_active', GPM_METRIC.FP16_UTIL, 0.01],
  ['dram_active', GPM_METRIC.DRAM_BW_UTIL, 0.01],
  ['pcie_transmit_bytes_per_second', GPM_METRIC.PCIE_TX_PER_SEC, 1024 * 1024],
  ['pcie_receive_bytes_per_second', GPM_METRIC.PCIE_RX_PER_SEC, 1024 * 1024],
  ['nvlink_transmit_bytes_per_second', GPM_METRIC.NVLINK_TOTAL_TX_PER_SEC, 1024 * 1024],
  ['nvlink_receive_bytes_per_second', GPM_METRIC.NVLINK_TOTAL_RX_PER_SEC, 1024 * 1024],
];

/** Two GPM buffers used in turn; `prev` indexes the one holding the last interval's sample (-1: none yet). */
interface GpmState {
  readonly buffers: readonly [GpmSampleHandle, GpmSampleHandle];
  prev: number;
}

interface GpmTarget {
  readonly key: string;
  readonly device: DeviceHandle;
  /** Set for a MIG GPU instance, sampled through its parent. */
  readonly gpuInstanceId?: number;
  /** Position of the device in the sample's list. */
  readonly at: number;
}

interface XidState {
  count: number;
  lastSeconds: number;
}

export class NvmlBackend implements Backend {
  readonly name = 'nvml';
  private api: NvmlApi | undefined;
  private initialized = false;
  private driverVersion: string | undefined;
  private events: EventSetHandle | undefined;
  private readonly registered = new Set<string>();
  private readonly xids = new Map<string, Map<string, XidState>>();
  /** Last identity seen per index, so a GPU that is lost keeps its labels. */
  private readonly identities = new Map<number, DeviceIdentity>();
  private readonly gpm = new Map<string, GpmState>();
  private readonly gpmSupported = new Map<string, boolean>();
  private readonly lastProcessSampleUs = new Map<string, number>();
  /** Calls issued and not yet returned; more than none at the start of a sample means the driver is stuck. */
  private pending = 0;
  private pendingSince = 0;
  private readonly log: Logger;
  private readonly opts: NvmlOptions;
  private readonly load: NvmlLoader;

  constructor(log: Logger, opts: NvmlOptions, load: NvmlLoader) {
    this.log = log;
    this.opts = opts;
    this.load = load;
  }

  toolStarts(): number {
    return 0;
  }

  async sample(signal: AbortSignal): Promise<BackendReading> {
    if (this.pending > 0) {
      throw new BackendError('timeout', `an NVML call has not returned for ${Math.round((Date.now() - this.pendingSince) / 1000)} s; not calling NVML again until it does`);
    }
    const api = await this.open(signal);
    const count = await this.call(signal, () => api.deviceGetCount());
    if (count.ret !== NVML.SUCCESS) throw new BackendError('exit_code', `nvmlDeviceGetCount: ${errorText(count.ret)}`);
    if (!count.value) throw new NoDataError('NVML found no NVIDIA devices');

    const devices: DeviceSample[] = [];
    const lost: LostDevice[] = [];
    const processes: ProcessSample[] = [];
    const handles: { handle: DeviceHandle; uuid: string }[] = [];
    const gpmTargets: GpmTarget[] = [];
    let processesListed = true;
    for (let i = 0; i < count.value; i++) {
      const hr = await this.call(signal, () => api.deviceGetHandleByIndex(i));
      try {
        const h = ok(hr);
        if (h === undefined) throw new DeviceLostError(hr.ret);
        const id = await this.call(signal, () => readIdentity(api, h, i));
        if (!id) throw new DeviceLostError(NVML.ERROR_UNKNOWN);
        this.identities.set(i, id);
        const phys = await this.call(signal, () => readPhysical(api, h, id, this.driverVersion));
        handles.push({ handle: h, uuid: id.uuid });
        await this.register(signal, api, h, id.uuid);
        const migs = phys.migEnabled ? await this.call(signal, () => readMigDevices(api, h, id)) : [];
        const procs = await this.processes(signal, api, h, id, migs);
        if (procs) processes.push(...procs);
        else processesListed = false;
        devices.push({ ...phys.sample, ...this.xidView(id.uuid) });
        gpmTargets.push({ key: id.uuid, device: h, at: devices.length - 1 });
        for (const m of migs) {
          devices.push(m.sample);
          gpmTargets.push({ key: m.sample.id.uuid, device: h, gpuInstanceId: m.gpuInstanceId, at: devices.length - 1 });
        }
      } catch (err) {
        if (!(err instanceof DeviceLostError)) throw err;
        const known = this.identities.get(i);
        lost.push({ pciBusId: known?.pciBusId ?? '', index: known?.index ?? String(i), message: err.message });
      }
    }
    await this.drainXids(signal, api, handles);
    // XIDs counted this sample belong on this sample's devices.
    for (const [i, d] of devices.entries()) if (!d.id.parentUuid) devices[i] = { ...d, ...this.xidView(d.id.uuid) };
    await this.profile(signal, api, devices, gpmTargets);
    return { devices, lost, ...(processesListed ? { processes } : {}) };
  }

  async close(): Promise<void> {
    if (!this.api || !this.initialized) return;
    const api = this.api;
    if (this.pending > 0) {
      // A call still blocked in the driver: shutting NVML down under it could block too, and
      // Node's exit waits for the blocked thread forever, so the process ends without that wait.
      this.log.warn({ blockedSeconds: Math.round((Date.now() - this.pendingSince) / 1000) }, 'an NVML call is still blocked in the driver; exiting without waiting for it');
      process.once('exit', (code) => api.exitNow(code));
      return;
    }
    for (const state of this.gpm.values()) for (const s of state.buffers) await api.gpmSampleFree(s);
    if (this.events !== undefined) await api.eventSetFree(this.events);
    await api.shutdown();
    this.initialized = false;
  }

  /** Runs one NVML step, counting it as pending until it settles; refuses to start once the sample is cancelled. */
  private async call<T>(signal: AbortSignal, step: () => Promise<T>): Promise<T> {
    if (signal.aborted) throw new BackendError('timeout', 'sample cancelled');
    if (this.pending++ === 0) this.pendingSince = Date.now();
    try {
      return await step();
    } finally {
      this.pending--;
    }
  }

  private async open(signal: AbortSignal): Promise<NvmlApi> {
    if (!this.api) {
      try {
        this.api = await this.load(this.opts.library);
      } catch (err) {
        throw new NoDataError(`cannot load ${this.opts.library}: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    const api = this.api;
    if (!this.initialized) {
      const ret = await this.call(signal, () => api.init());
      if (ret === NVML.ERROR_FUNCTION_NOT_FOUND) throw new NoDataError(`${this.opts.library} has no nvmlInit_v2: not NVML`);
      if (NO_DATA_INIT.has(ret)) throw new NoDataError(`nvmlInit: ${errorText(ret)}`);
      if (ret !== NVML.SUCCESS) throw new BackendError('spawn', `nvmlInit: ${errorText(ret)}`);
      this.initialized = true;
      const v = await this.call(signal, () => api.systemGetDriverVersion());
      this.driverVersion = v.ret === NVML.SUCCESS ? v.value : undefined;
      const set = await this.call(signal, () => api.eventSetCreate());
      this.events = set.ret === NVML.SUCCESS ? set.value : undefined;
      if (this.events === undefined) this.log.warn({ error: errorText(set.ret) }, 'no NVML event set; XID errors are not counted');
    }
    return api;
  }

  /** Subscribes a GPU to critical XID events once; a GPU that does not support them is left out. */
  private async register(signal: AbortSignal, api: NvmlApi, h: DeviceHandle, uuid: string): Promise<void> {
    if (this.events === undefined || this.registered.has(uuid)) return;
    this.registered.add(uuid);
    const set = this.events;
    const ret = await this.call(signal, () => api.deviceRegisterEvents(h, EVENT_TYPE_XID_CRITICAL_ERROR, set));
    if (ret !== NVML.SUCCESS) this.log.info({ uuid, error: errorText(ret) }, 'XID events not available for this GPU');
    else this.xids.set(uuid, this.xids.get(uuid) ?? new Map());
  }

  /** Takes what the event set holds without waiting (timeout 0): the sample cadence is the subscription's. */
  private async drainXids(signal: AbortSignal, api: NvmlApi, handles: readonly { handle: DeviceHandle; uuid: string }[]): Promise<void> {
    const set = this.events;
    if (set === undefined) return;
    for (let n = 0; n < MAX_EVENTS_PER_SAMPLE; n++) {
      const r = await this.call(signal, () => api.eventSetWait(set, 0));
      if (r.ret !== NVML.SUCCESS || !r.value) {
        if (r.ret !== NVML.ERROR_TIMEOUT) this.log.debug({ error: errorText(r.ret) }, 'NVML event wait');
        return;
      }
      if ((r.value.eventType & EVENT_TYPE_XID_CRITICAL_ERROR) === 0n) continue;
      const dev = handles.find((x) => api.sameDevice(x.handle, r.value!.device));
      if (!dev) continue;
      const xid = String(r.value.eventData);
      const perDevice = this.xids.get(dev.uuid) ?? new Map<string, XidState>();
      this.xids.set(dev.uuid, perDevice);
      const cur = perDevice.get(xid) ?? { count: 0, lastSeconds: 0 };
      cur.count++;
      cur.lastSeconds = Date.now() / 1000;
      perDevice.set(xid, cur);
      this.log.warn({ uuid: dev.uuid, xid: Number(xid) }, 'XID error');
    }
  }

  private xidView(uuid: string): Partial<DeviceSample> {
    const m = this.xids.get(uuid);
    if (!m) return {};
    const list = [...m.entries()].sort((a, b) => Number(a[0]) - Number(b[0])).map(([xid, s]) => ({ xid, count: s.count, lastSeconds: s.lastSeconds }));
    return { xidErrors: list };
  }

  /**
   * Compute processes with their memory, and each one's share of the GPU from NVML's
   * process utilisation samples since the last sample. On a GPU in MIG mode the
   * processes are listed per MIG device, so their memory lands on the partition.
   */
  private async processes(signal: AbortSignal, api: NvmlApi, h: DeviceHandle, id: DeviceIdentity, migs: readonly MigDevice[]): Promise<ProcessSample[] | undefined> {
    const out: ProcessSample[] = [];
    const targets = migs.length > 0 ? migs.map((m) => ({ handle: m.handle, uuid: m.sample.id.uuid })) : [{ handle: h, uuid: id.uuid }];
    for (const t of targets) {
      const r = await this.call(signal, () => api.deviceGetComputeRunningProcesses(t.handle));
      const list = ok(r);
      if (!list) return undefined;
      // Per-process utilisation exists for whole GPUs only (NVML does not sample it per MIG device).
      const shares = migs.length === 0 ? await this.processShares(signal, api, h, id.uuid) : undefined;
      for (const p of list) {
        const s = shares?.get(p.pid);
        out.push({
          deviceUuid: t.uuid,
          pid: p.pid,
          name: '',
          ...(p.usedGpuMemory !== undefined ? { memoryUsedBytes: p.usedGpuMemory } : {}),
          ...(shares ? { utilizationRatio: s?.sm ?? 0, memoryControllerUtilizationRatio: s?.mem ?? 0, encoderUtilizationRatio: s?.enc ?? 0, decoderUtilizationRatio: s?.dec ?? 0 } : {}),
        });
      }
    }
    return out;
  }

  /** Mean of each process's samples since the last call, as ratios; undefined when NVML has none for this GPU. */
  private async processShares(signal: AbortSignal, api: NvmlApi, h: DeviceHandle, uuid: string): Promise<Map<number, { sm: number; mem: number; enc: number; dec: number }> | undefined> {
    const since = this.lastProcessSampleUs.get(uuid) ?? (Date.now() - this.opts.intervalMs) * 1000;
    const r = await this.call(signal, () => api.deviceGetProcessUtilization(h, since));
    // NOT_FOUND: no process ran on the GPU since `since`; every listed process had a zero share.
    if (r.ret === NVML.ERROR_NOT_FOUND) return new Map();
    const samples = ok(r);
    if (!samples) return undefined;
    const acc = new Map<number, { n: number; sm: number; mem: number; enc: number; dec: number }>();
    let newest = since;
    for (const s of samples) {
      newest = Math.max(newest, s.timeStamp);
      const a = acc.get(s.pid) ?? { n: 0, sm: 0, mem: 0, enc: 0, dec: 0 };
      a.n++;
      a.sm += s.smUtil;
      a.mem += s.memUtil;
      a.enc += s.encUtil;
      a.dec += s.decUtil;
      acc.set(s.pid, a);
    }
    this.lastProcessSampleUs.set(uuid, newest);
    const out = new Map<number, { sm: number; mem: number; enc: number; dec: number }>();
    for (const [pid, a] of acc) out.set(pid, { sm: (a.sm / a.n) * 0.01, mem: (a.mem / a.n) * 0.01, enc: (a.enc / a.n) * 0.01, dec: (a.dec / a.n) * 0.01 });
    return out;
  }

  /**
   * GPM: one sample per GPU (or MIG GPU instance) per interval; the metrics are
   * computed over this sample and the previous one, so they cover the whole
   * interval. The first interval takes its two samples a short gap apart.
   */
  private async profile(signal: AbortSignal, api: NvmlApi, devices: DeviceSample[], targets: readonly GpmTarget[]): Promise<void> {
    const eligible: GpmTarget[] = [];
    for (const t of targets) {
      const parentKey = devices[t.at]!.id.parentUuid ?? t.key;
      let supported = this.gpmSupported.get(parentKey);
      if (supported === undefined) {
        const r = await this.call(signal, () => api.gpmQueryDeviceSupport(t.device));
        supported = r.ret === NVML.SUCCESS && r.value === true;
        this.gpmSupported.set(parentKey, supported);
        if (!supported) this.log.info({ uuid: parentKey, error: r.ret === NVML.SUCCESS ? undefined : errorText(r.ret) }, 'GPM profiling not supported on this GPU');
      }
      if (supported) eligible.push(t);
    }
    if (eligible.length === 0) return;
    const take = (t: GpmTarget, s: GpmSampleHandle) =>
      this.call(signal, () => (t.gpuInstanceId === undefined ? api.gpmSampleGet(t.device, s) : api.gpmMigSampleGet(t.device, t.gpuInstanceId, s)));
    let waited = false;
    for (const t of eligible) {
      let state = this.gpm.get(t.key);
      if (!state) {
        const a = await this.call(signal, () => api.gpmSampleAlloc());
        const b = await this.call(signal, () => api.gpmSampleAlloc());
        if (a.ret !== NVML.SUCCESS || b.ret !== NVML.SUCCESS) continue;
        state = { buffers: [a.value, b.value], prev: -1 };
        this.gpm.set(t.key, state);
      }
      if (state.prev < 0) {
        if ((await take(t, state.buffers[0])) !== NVML.SUCCESS) continue;
        state.prev = 0;
        if (!waited) await new Promise((r) => setTimeout(r, FIRST_GPM_GAP_MS));
        waited = true;
      }
      const cur = 1 - state.prev;
      if ((await take(t, state.buffers[cur])) !== NVML.SUCCESS) continue;
      const older = state.buffers[state.prev];
      const newer = state.buffers[cur];
      state.prev = cur;
      const r = await this.call(signal, () => api.gpmMetricsGet(older, newer, GPM_READS.map(([, id]) => id)));
      if (r.ret !== NVML.SUCCESS || !r.value) continue;
      const profiling: Partial<Record<ProfilingMetric, number>> = {};
      r.value.forEach((m, i) => {
        const [key, , k] = GPM_READS[i]!;
        if (m.ret === NVML.SUCCESS && Number.isFinite(m.value) && m.value >= 0) profiling[key] = m.value * k;
      });
      devices[t.at] = { ...devices[t.at]!, profiling };
    }
  }
}
