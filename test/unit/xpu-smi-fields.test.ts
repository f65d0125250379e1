import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseDiscovery, parseDiscoveryDetail, parseDump, xpuDeviceSample } from '../../src/backends/intel/xpu-smi-fields.ts';
import { ParseError } from '../../src/backends/values.ts';
import { FIXTURES } from '../helpers/exporter.ts';

const read = (f: string) => readFileSync(path.join(FIXTURES, 'intel', f), 'utf8');
const DISCOVERY_MAX = read('xpu-smi_discovery_j__DataCenterGPUMax1100_2x__slurm-monitor.json');
const DISCOVERY_DOC = read('xpu-smi_discovery_j__Intel-Graphics-0x020a__xpumanager-smi_user_guide.json');
const DETAIL = read('xpu-smi_discovery_d0_j__DataCenterGPUMax1100__slurm-monitor.json');
const DUMP_MAX = read('xpu-smi_dump_csv__DataCenterGPUMax1100_2x__slurm-monitor.csv');
const DUMP_DOC = read('xpu-smi_dump_m0-1-2_csv__device0__xpumanager-smi_user_guide.csv');

describe('xpu-smi parsers', () => {
  it('reads identities from discovery -j', () => {
    assert.deepEqual(parseDiscovery(DISCOVERY_MAX), [
      { deviceId: '0', id: { vendor: 'intel', uuid: '00000000-0000-0029-0000-002f0bda8086', pciBusId: '0000:29:00.0', index: '0', model: 'Intel(R) Data Center GPU Max 1100' } },
      { deviceId: '1', id: { vendor: 'intel', uuid: '00000000-0000-009a-0000-002f0bda8086', pciBusId: '0000:9a:00.0', index: '1', model: 'Intel(R) Data Center GPU Max 1100' } },
    ]);
    assert.equal(parseDiscovery(DISCOVERY_DOC)[0]!.id.model, 'Intel(R) Graphics [0x020a]');
    assert.throws(() => parseDiscovery('<html>'), ParseError);
  });

  it('reads static properties from discovery -d -j; "unknown" serial is absent', () => {
    assert.deepEqual(parseDiscoveryDetail(DETAIL), {
      memoryTotalBytes: 51522830336,
      tiles: 1,
      info: { driver_version: 'I915_23.10.72_PSB_231129.76', ecc_mode: 'enabled' },
    });
  });

  it('matches dump columns by metric id whatever the header text', () => {
    const max = parseDump(DUMP_MAX, [0, 1, 2, 3, 4, 5, 18]);
    assert.deepEqual([...max.values.get('1')!], [[0, 0], [1, 118.1], [2, 1550], [5, 0.05], [18, 27.99]]);
    // The documentation's older header for metric 0; five rows, the last one kept.
    const doc = parseDump(DUMP_DOC, [0, 1, 2]);
    assert.deepEqual([...doc.values.get('0')!], [[0, 0], [1, 14.61], [2, 0]]);
    // An unknown header is placed by its position in the -m list when the counts line up...
    const renamed = parseDump('Timestamp, DeviceId, Busy Engines (%), GPU Power (W)\n1, 0, 42.5, 10\n', [0, 1]);
    assert.deepEqual([...renamed.values.get('0')!], [[0, 42.5], [1, 10]]);
    // ...and dropped when they do not.
    const extra = parseDump('Timestamp, DeviceId, Something New, GPU Power (W)\n1, 0, 42.5, 10\n', [1]);
    assert.deepEqual([...extra.values.get('0')!], [[1, 10]]);
    assert.deepEqual(extra.unknownColumns, ['Something New']);
    assert.throws(() => parseDump('garbage\n', [0]), ParseError);
  });

  it('converts units into the device sample', () => {
    const [dev] = parseDiscovery(DISCOVERY_MAX);
    const row = parseDump(DUMP_MAX, [0, 1, 2, 3, 4, 5, 18]).values.get('0');
    const d = xpuDeviceSample(dev!, parseDiscoveryDetail(DETAIL), row);
    assert.equal(d.utilizationRatio, 0);
    assert.equal(d.powerWatts, 118.87);
    assert.deepEqual(d.clocksHertz, [{ key: 'graphics', value: 1550e6 }]);
    assert.deepEqual(d.temperaturesCelsius, [], 'N/A temperatures are absent, not 0');
    assert.equal(d.memoryUsedBytes, 29349642); // 27.99 MiB
    assert.equal(d.memoryTotalBytes, 51522830336);
  });
});
