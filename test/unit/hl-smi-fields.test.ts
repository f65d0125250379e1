import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { HL_SMI_BASE_FIELDS, parseHlSmiRows } from '../../src/backends/habana/hl-smi-fields.ts';
import { FIXTURES } from '../helpers/exporter.ts';

const GAUDI3 = readFileSync(path.join(FIXTURES, 'gaudi/hl-smi_query-aip_csv_noheader__HL-325L_gaudi3_2rows__1.22.1__all-smi.csv'), 'utf8');
const GAUDI1 = readFileSync(path.join(FIXTURES, 'gaudi/hl-smi_query-aip_csv_nounits__HL-205_gaudi1_8x__hl-1.18.0__slurm-monitor.csv'), 'utf8');
const GAUDI3_FIELDS = ['index', 'uuid', 'name', 'driver_version', 'memory.total', 'memory.used', 'memory.free', 'power.draw', 'power.max', 'temperature.aip', 'utilization.aip'];
const GAUDI1_FIELDS = ['name', 'uuid', 'power.draw', 'temperature.aip', 'utilization.aip', 'memory.used', 'memory.total'];
const MIB = 1024 * 1024;

describe('parseHlSmiRows', () => {
  it('reads the Gaudi 3 capture, units and all', () => {
    const { devices, badLines } = parseHlSmiRows(GAUDI3, GAUDI3_FIELDS);
    assert.deepEqual(badLines, []);
    assert.equal(devices.length, 2);
    const d = devices[1]!;
    assert.deepEqual(d.id, { vendor: 'habana', uuid: '01P4-HL3090A0-18-U4V298-03-04-04', pciBusId: '', index: '1', model: 'HL-325L' });
    assert.deepEqual(d.info, { driver_version: '1.22.1-97ec1a4' });
    assert.equal(d.memoryTotalBytes, 131072 * MIB);
    assert.equal(d.memoryUsedBytes, 672 * MIB);
    assert.equal(d.powerWatts, 230);
    assert.equal(d.powerLimitWatts, 850);
    assert.deepEqual(d.temperaturesCelsius, [{ key: 'gpu', value: 39 }]);
    assert.equal(d.utilizationRatio, 0);
    assert.deepEqual(d.errors, []);
  });

  it('reads the Gaudi 1 nounits rows (the exporter asks for noheader, so the header line is dropped here)', () => {
    const { devices, badLines } = parseHlSmiRows(GAUDI1.split('\n').slice(1).join('\n'), GAUDI1_FIELDS);
    assert.equal(devices.length, 8);
    assert.deepEqual(badLines, []);
    const d = devices.find((x) => x.id.uuid === '00P1-HL2000A1-14-P64X78-02-07-10')!;
    assert.equal(d.powerWatts, 96);
    assert.deepEqual(d.temperaturesCelsius, [{ key: 'gpu', value: 33 }]);
    assert.equal(d.utilizationRatio, 0.12);
    assert.equal(d.memoryUsedBytes, 512 * MIB);
    assert.equal(d.memoryTotalBytes, 32768 * MIB);
    assert.equal(d.powerLimitWatts, undefined);
  });

  it('keys rows by bus id, keeps the first of a repeated key, and reads N/A as absent', () => {
    const rows = [
      '01P4-A, 0000:B3:00.0, 0, HL-325L, 1.22.1, N/A, 7, 1024, 131072, 226, 36, 0, 2',
      '01P4-B, 0000:b3:00.0, 1, HL-325L, 1.22.1, N/A, 9, 1024, 131072, 226, 36, 0, 2',
      'short, row',
    ].join('\n');
    const { devices, badLines } = parseHlSmiRows(rows, HL_SMI_BASE_FIELDS);
    assert.equal(devices.length, 1);
    assert.equal(devices[0]!.id.pciBusId, '0000:b3:00.0');
    assert.equal(devices[0]!.id.uuid, '01P4-A');
    assert.deepEqual(devices[0]!.info, { driver_version: '1.22.1' });
    assert.equal(devices[0]!.utilizationRatio, 0.07);
    assert.deepEqual(devices[0]!.errors, [{ key: 'ecc_corrected', value: 0 }, { key: 'ecc_uncorrected', value: 2 }]);
    assert.deepEqual(badLines, ['short, row']);
  });
});
