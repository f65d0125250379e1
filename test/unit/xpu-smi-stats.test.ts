import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseDiscovery, parseDiscoveryDetail } from '../../src/backends/intel/xpu-smi-fields.ts';
import { ParseError } from '../../src/backends/values.ts';
import { parseStats, xpuTileSamples } from '../../src/backends/intel/xpu-smi-stats.ts';
import { FIXTURES } from '../helpers/exporter.ts';

const read = (f: string) => readFileSync(path.join(FIXTURES, 'intel', f), 'utf8');
// Constructed from xpumanager's source (SOURCES.md): no capture of `stats -j` exists.
const STATS = read('xpu-smi_stats_d0_j__DataCenterGPUMax1550__constructed.json');
const DISCOVERY = read('xpu-smi_discovery_j__DataCenterGPUMax1550__constructed.json');
const DETAIL = read('xpu-smi_discovery_d0_j__DataCenterGPUMax1550__constructed.json');

describe('xpu-smi stats -j', () => {
  it('reads each tile by metric name, without the XPUM_STATS_ prefix', () => {
    const r = parseStats(STATS);
    assert.ok(r.ok);
    assert.equal(r.deviceId, '0');
    assert.deepEqual(r.tiles.map((t) => t.tileId), ['0', '1']);
    const t1 = r.tiles[1]!.values;
    assert.equal(t1.get('POWER'), 197.21);
    assert.equal(t1.get('MEMORY_USED'), 7682.25);
    assert.equal(t1.get('GPU_CORE_TEMPERATURE'), 49);
    assert.equal(t1.get('MEMORY_TEMPERATURE'), 46);
  });

  it('reads the tile count from discovery -d -j', () => {
    assert.equal(parseDiscoveryDetail(DETAIL).tiles, 2);
  });

  it('makes one partition device per tile with converted units', () => {
    const [dev] = parseDiscovery(DISCOVERY);
    const r = parseStats(STATS);
    assert.ok(r.ok);
    const [t0, t1] = xpuTileSamples(dev!, parseDiscoveryDetail(DETAIL), r.tiles);
    assert.deepEqual(t0!.id, {
      vendor: 'intel',
      uuid: '00000000-0000-0029-0000-002f0bd58086/tile0',
      pciBusId: '0000:29:00.0',
      index: '0/0',
      model: 'Intel(R) Data Center GPU Max 1550',
      parentUuid: '00000000-0000-0029-0000-002f0bd58086',
    });
    assert.equal(t1!.id.uuid, '00000000-0000-0029-0000-002f0bd58086/tile1');
    assert.equal(t1!.id.index, '0/1');
    assert.equal(t0!.utilizationRatio, 0.62);
    assert.equal(t0!.memoryUsedBytes, 19327614976); // 18432.25 MiB
    assert.equal(t1!.memoryUsedBytes, 8055422976); // 7682.25 MiB
    assert.equal(t0!.memoryTotalBytes, undefined, 'tiles have no memory size of their own');
    assert.equal(t0!.powerWatts, 205.1);
    assert.equal(t0!.memoryControllerUtilizationRatio, 0.37);
    assert.deepEqual(t0!.temperaturesCelsius, [{ key: 'gpu', value: 54 }, { key: 'memory', value: 48 }]);
    assert.deepEqual(t1!.clocksHertz, [{ key: 'graphics', value: 1600e6 }]);
    assert.equal(t0!.info.driver_version, 'I915_23.10.72_PSB_231129.76');
  });

  it('ignores metrics it has no mapping for and values that are not numbers', () => {
    const r = parseStats(JSON.stringify({
      device_id: 3,
      device_level: [],
      tile_level: [{ tile_id: 0, data_list: [
        { metrics_type: 'XPUM_STATS_POWER', value: 12.5 },
        { metrics_type: '47', value: 9 },
        { metrics_type: 'XPUM_STATS_SOMETHING_NEW', value: 1 },
        { metrics_type: 'XPUM_STATS_GPU_UTILIZATION', value: 'N/A' },
        'junk',
      ] }, { data_list: [] }],
    }));
    assert.ok(r.ok);
    assert.equal(r.tiles.length, 1, 'a tile without tile_id is skipped');
    const [t] = xpuTileSamples(parseDiscovery(DISCOVERY)[0]!, undefined, r.tiles);
    assert.equal(t!.powerWatts, 12.5);
    assert.equal(t!.utilizationRatio, undefined);
    assert.deepEqual(t!.info, {});
    assert.deepEqual([...r.tiles[0]!.values.keys()], ['POWER', 'SOMETHING_NEW']);
  });

  it('has no tiles for a single-tile device (no tile_level)', () => {
    assert.deepEqual(parseStats('{"device_id": 0, "device_level": [{"metrics_type": "XPUM_STATS_POWER", "value": 44.69}]}'), { ok: true, deviceId: '0', tiles: [] });
  });

  it('returns the error answer and rejects what is not stats', () => {
    assert.deepEqual(parseStats('{\n    "errno": 3,\n    "error": "device not found"\n}\n'), { ok: false, error: 'device not found', errno: 3 });
    assert.deepEqual(parseStats('{"error": "Error"}'), { ok: false, error: 'Error' });
    assert.throws(() => parseStats('Level Zero Initialization Error\n'), ParseError);
    assert.throws(() => parseStats('[]'), ParseError);
    assert.throws(() => parseStats('{"device_level": []}'), /no device_id/);
  });
});
