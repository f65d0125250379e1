// Intel data-centre GPUs through xpu-smi: `discovery -j` once for identity
// (and `discovery -d <id> -j` for static properties), then one
// `dump -d <ids> -m <metric ids> -n 1` per sample. Discovery is repeated after
// a failed dump or when the dump names a device discovery did not.
// Devices whose `discovery -d` reports more than one tile also get one
// `stats -d <id> -j` per sample for their tiles (partition devices); a
// single-tile device costs no extra tool start.

import type { BackendReading, DeviceSample } from '../../model.ts';
import { BackendError, NoDataError } from '../backend.ts';
import { CliBackend, exitCodeError, firstLine } from '../tool-run.ts';
import { ParseError } from '../values.ts';
import { parseStats, xpuTileSamples } from './xpu-smi-stats.ts';
import {
  XPU_DUMP_METRICS,
  jsonError,
  parseDiscovery,
  parseDiscoveryDetail,
  parseDump,
  xpuDeviceSample,
  type XpuDetail,
  type XpuDevice,
} from './xpu-smi-fields.ts';

interface Inventory {
  readonly devices: readonly XpuDevice[];
  readonly details: ReadonlyMap<string, XpuDetail>;
}

export class XpuSmiBackend extends CliBackend {
  private inventory: Inventory | undefined;

  async sample(signal: AbortSignal): Promise<BackendReading> {
    const inv = this.inventory ?? (await this.discover(signal));
    const args = ['dump', '-d', inv.devices.map((d) => d.deviceId).join(','), '-m', XPU_DUMP_METRICS.join(','), '-n', '1'];
    const r = await this.run(args, signal);
    if (r.exitCode !== 0) {
      this.inventory = undefined;
      throw exitCodeError('xpu-smi dump', r.exitCode, firstLine(r.stderr, r.stdout));
    }
    let dump;
    try {
      dump = parseDump(r.stdout, XPU_DUMP_METRICS);
    } catch (err) {
      if (err instanceof ParseError) throw new BackendError('parse', err.message);
      throw err;
    }
    if (dump.unknownColumns.length > 0) this.deps.log.debug({ columns: dump.unknownColumns }, 'xpu-smi dump columns without a known metric id');
    if ([...dump.values.keys()].some((id) => !inv.devices.some((d) => d.deviceId === id))) this.inventory = undefined;
    const devices = inv.devices.map((d) => xpuDeviceSample(d, inv.details.get(d.deviceId), dump.values.get(d.deviceId)));
    for (const d of inv.devices) {
      const detail = inv.details.get(d.deviceId);
      if ((detail?.tiles ?? 1) > 1) devices.push(...(await this.tiles(d, detail, signal)));
    }
    return { devices, lost: [] };
  }

  /**
   * A device's tiles from `stats -d <id> -j`. A failed stats run costs only the
   * tiles of this sample: the device's own values from dump are still good.
   */
  private async tiles(dev: XpuDevice, detail: XpuDetail | undefined, signal: AbortSignal): Promise<DeviceSample[]> {
    let why: string;
    try {
      const r = await this.run(['stats', '-d', dev.deviceId, '-j'], signal);
      const stats = parseStats(r.stdout);
      if (stats.ok && r.exitCode === 0) return xpuTileSamples(dev, detail, stats.tiles);
      why = stats.ok ? `exit code ${r.exitCode}` : `${stats.error}${stats.errno === undefined ? '' : ` (errno ${stats.errno})`}`;
    } catch (err) {
      if (signal.aborted || !(err instanceof BackendError || err instanceof ParseError)) throw err;
      why = err.message;
    }
    this.deps.log.warn({ device: dev.deviceId, err: why }, 'xpu-smi stats failed; no tile values this sample');
    return [];
  }

  private async discover(signal: AbortSignal): Promise<Inventory> {
    const r = await this.run(['discovery', '-j'], signal);
    if (r.exitCode !== 0) {
      throw exitCodeError('xpu-smi discovery', r.exitCode, jsonError(r.stdout) ?? firstLine(r.stderr, r.stdout));
    }
    let devices: XpuDevice[];
    try {
      devices = parseDiscovery(r.stdout);
    } catch (err) {
      const text = jsonError(r.stdout);
      if (text) throw new BackendError('exit_code', `xpu-smi discovery: ${text}`);
      if (err instanceof ParseError) throw new BackendError('parse', `${err.message}: ${firstLine(r.stdout, r.stderr)}`);
      throw err;
    }
    if (devices.length === 0) throw new NoDataError('xpu-smi found no Intel GPUs');
    const details = new Map<string, XpuDetail>();
    for (const d of devices) {
      // Static extras (memory size, driver, serial): a device without them still reports its dump values.
      const dr = await this.run(['discovery', '-d', d.deviceId, '-j'], signal);
      try {
        if (dr.exitCode !== 0) throw new Error(jsonError(dr.stdout) ?? firstLine(dr.stderr, dr.stdout));
        details.set(d.deviceId, parseDiscoveryDetail(dr.stdout));
      } catch (err) {
        this.deps.log.warn({ device: d.deviceId, err: (err as Error).message }, 'xpu-smi discovery -d failed; no static properties for this device');
      }
    }
    this.deps.log.info({ devices: devices.length }, 'xpu-smi devices discovered');
    this.inventory = { devices, details };
    return this.inventory;
  }
}
