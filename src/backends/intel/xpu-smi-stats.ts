// How `xpu-smi stats -d <id> -j` becomes per-tile partition devices. Pure, so
// it is tested directly against the (constructed) fixture.
//
// The JSON is xpumanager's LibCoreStub::getStatistics: `device_level` and each
// `tile_level[].data_list` hold `{"metrics_type": "XPUM_STATS_<NAME>", "value": n}`.
// The CLI scales values before printing: XPUM_STATS_MEMORY_USED is divided by
// 1048576 (MiB), percentages are 0..100, power is watts, frequency MHz,
// temperatures celsius. A failed query prints `{"error": "...", "errno": n}`
// instead. `dump` already gives the device-level values, so only tiles are read.

import { emptyDevice, type DeviceSample, type TemperatureSensor } from '../../model.ts';
import { MHZ, MIB, ParseError, parseJsonObject } from '../values.ts';
import type { XpuDetail, XpuDevice } from './xpu-smi-fields.ts';

export interface XpuTileStats {
  readonly tileId: string;
  /** Metric values by `XPUM_STATS_` name with the prefix removed (`POWER`, `MEMORY_USED`). */
  readonly values: ReadonlyMap<string, number>;
}

export type XpuStatsResult =
  | { readonly ok: true; readonly deviceId: string; readonly tiles: readonly XpuTileStats[] }
  | { readonly ok: false; readonly error: string; readonly errno?: number };

function metricList(raw: unknown): Map<string, number> {
  const out = new Map<string, number>();
  if (!Array.isArray(raw)) return out;
  for (const entry of raw) {
    if (typeof entry !== 'object' || entry === null) continue;
    const { metrics_type: type, value } = entry as Record<string, unknown>;
    // metricsTypeToString prints a bare enum number for a type it has no name for: not ours to guess.
    if (typeof type !== 'string' || !type.startsWith('XPUM_STATS_')) continue;
    if (typeof value !== 'number' || !Number.isFinite(value)) continue;
    out.set(type.slice('XPUM_STATS_'.length), value);
  }
  return out;
}

/** `xpu-smi stats -d <id> -j`. Throws ParseError when it is neither stats nor an error answer. */
export function parseStats(stdout: string): XpuStatsResult {
  const d = parseJsonObject(stdout, 'xpu-smi stats output');
  if (typeof d.error === 'string') return { ok: false, error: d.error, ...(typeof d.errno === 'number' ? { errno: d.errno } : {}) };
  if (typeof d.device_id !== 'number' && typeof d.device_id !== 'string') throw new ParseError('xpu-smi stats output has no device_id');
  const tiles: XpuTileStats[] = [];
  // A single-tile device has no tile_level at all.
  for (const raw of Array.isArray(d.tile_level) ? d.tile_level : []) {
    if (typeof raw !== 'object' || raw === null) continue;
    const t = raw as Record<string, unknown>;
    if (typeof t.tile_id !== 'number' || !Number.isInteger(t.tile_id)) continue;
    tiles.push({ tileId: String(t.tile_id), values: metricList(t.data_list) });
  }
  return { ok: true, deviceId: String(d.device_id), tiles };
}

/**
 * One partition device per tile: uuid `<device uuid>/tile<N>`, gpu `<device id>/<N>`,
 * the parent's bus id, model and static info. Memory size per tile is not reported.
 */
export function xpuTileSamples(dev: XpuDevice, detail: XpuDetail | undefined, tiles: readonly XpuTileStats[]): DeviceSample[] {
  return tiles.map((t) => {
    const m = (name: string) => t.values.get(name);
    const temperatures: { key: TemperatureSensor; value: number }[] = [];
    const core = m('GPU_CORE_TEMPERATURE');
    if (core !== undefined) temperatures.push({ key: 'gpu', value: core });
    const mem = m('MEMORY_TEMPERATURE');
    if (mem !== undefined) temperatures.push({ key: 'memory', value: mem });
    const util = m('GPU_UTILIZATION');
    const bw = m('MEMORY_BANDWIDTH');
    const used = m('MEMORY_USED');
    const freq = m('GPU_FREQUENCY');
    return {
      ...emptyDevice({
        vendor: 'intel',
        uuid: `${dev.id.uuid}/tile${t.tileId}`,
        pciBusId: dev.id.pciBusId,
        index: `${dev.deviceId}/${t.tileId}`,
        model: dev.id.model,
        parentUuid: dev.id.uuid,
      }),
      info: detail?.info ?? {},
      utilizationRatio: util === undefined ? undefined : util / 100,
      memoryControllerUtilizationRatio: bw === undefined ? undefined : bw / 100,
      memoryUsedBytes: used === undefined ? undefined : Math.round(used * MIB),
      powerWatts: m('POWER'),
      temperaturesCelsius: temperatures,
      clocksHertz: freq === undefined ? [] : [{ key: 'graphics', value: freq * MHZ }],
    };
  });
}
