// The amd-smi parsers against each JSON shape: the captured ROCm 6.3-era
// metric output, and constructed static/process and ROCm 6.0 / 7.x shapes
// (test/fixtures/amd/SOURCES.md says which is which).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { convert, gpuRecords, parseJsonOutput, parseMetric, parseProcesses, parseStatic, quantity } from '../../src/backends/amd/amd-smi-parse.ts';
import { emptyDevice } from '../../src/model.ts';
import { FIXTURES } from '../helpers/exporter.ts';

const read = (f: string) => parseJsonOutput(readFileSync(path.join(FIXTURES, 'amd', f), 'utf8'));
const MIB = 1024 * 1024;

describe('amd-smi leaves', () => {
  it('reads {"value","unit"}, plain numbers and "N/A" alike', () => {
    assert.deepEqual(quantity({ value: 34, unit: 'W' }), { value: 34, unit: 'W' });
    assert.deepEqual(quantity(187), { value: 187, unit: undefined });
    assert.equal(quantity('N/A'), undefined);
    assert.equal(quantity({ value: 'N/A', unit: 'mV' }), undefined);
  });

  it('converts from the unit the tool names and drops units it does not know', () => {
    assert.equal(convert({ value: 34000, unit: 'mW' }, 'watts'), 34);
    assert.equal(convert({ value: 5e6, unit: 'uJ' }, 'joules'), 5);
    assert.equal(convert({ value: 2, unit: 'GB' }, 'bytes'), 2 * 1024 ** 3);
    assert.equal(convert({ value: 35, unit: '%' }, 'ratio'), 0.35);
    assert.equal(convert({ value: 34, unit: 'furlongs' }, 'watts'), undefined);
    assert.equal(convert({ value: 34, unit: undefined }, 'watts'), undefined, 'no unit and no documented legacy unit');
  });

  it('unwraps ROCm 7 {"gpu_data": [...]} and rejects other shapes', () => {
    assert.deepEqual(gpuRecords({ gpu_data: [{ gpu: 0 }] }), [{ gpu: 0 }]);
    assert.throws(() => gpuRecords({ cpu_data: [] }), /gpu_data/);
    assert.throws(() => parseJsonOutput('Traceback (most recent call last):\n{"gpu": 0,'), /invalid JSON/);
  });
});

describe('amd-smi static + metric + process', () => {
  it('ROCm 6.3-era Radeon (captured metric, constructed static/process)', () => {
    const statics = parseStatic(read('constructed_amd-smi_static_json__rocm6.3-shape__46GB-radeon.json'));
    const devices = parseMetric(read('amd-smi_metric_json__list-format_amdsmi-rocm6.3-era__46GB-radeon__jkoudela-amd-smi-exporter.json'), statics);
    const id = { vendor: 'amd', uuid: '0x1A2B3C4D5E6F7081', pciBusId: '0000:03:00.0', index: '0', model: 'AMD Radeon PRO W7800 48GB' } as const;
    assert.deepEqual(devices, [
      {
        ...emptyDevice(id),
        info: { driver_version: '6.10.5', vbios_version: '022.001.002.037.000001', serial: '0x1A2B3C4D5E6F7081' },
        utilizationRatio: 0,
        memoryControllerUtilizationRatio: 0,
        memoryUsedBytes: 1758 * MIB,
        memoryTotalBytes: 46064 * MIB,
        powerWatts: 34,
        powerLimitWatts: 281,
        energyJoules: 0,
        fanSpeedRatio: 0.2,
        pcieLinkWidth: 16,
        pcieLinkGeneration: 4,
        temperaturesCelsius: [
          { key: 'edge', value: 43 },
          { key: 'hotspot', value: 49 },
          { key: 'memory', value: 56 },
        ],
        errors: [
          { key: 'ecc_corrected', value: 0 },
          { key: 'ecc_uncorrected', value: 0 },
        ],
        clocksHertz: [
          { key: 'graphics', value: 60e6 },
          { key: 'memory', value: 96e6 },
          { key: 'video', value: 812e6 },
        ],
        maxClocksHertz: [
          { key: 'graphics', value: 1760e6 },
          { key: 'memory', value: 1124e6 },
          { key: 'video', value: 2934e6 },
        ],
        engineUtilizationRatio: [{ key: 'vcn', value: 0.19 }],
        clockEventsActive: [{ key: 'throttled', value: 1 }],
      },
    ]);
    assert.deepEqual(parseProcesses(read('constructed_amd-smi_process_json__rocm6.3-shape__46GB-radeon.json'), devices), [
      { deviceUuid: '0x1A2B3C4D5E6F7081', pid: 48213, name: 'python3', memoryUsedBytes: 1610612736 },
    ]);
  });

  it('ROCm 7 gpu_data wrapper, MI300X in CPX: partitions with a parent, N/A sections and values', () => {
    const statics = parseStatic(read('constructed_amd-smi_static_json__rocm7-gpu_data__mi300x-cpx.json'));
    const devices = parseMetric(read('constructed_amd-smi_metric_json__rocm7-gpu_data__mi300x-cpx.json'), statics);
    assert.deepEqual(
      devices.map((d) => d.id),
      [0, 1].map((i) => ({ vendor: 'amd', uuid: `0x7B1E4A2C9D3F5E60/xcp${i}`, pciBusId: '0000:1b:00.0', index: String(i), model: 'AMD Instinct MI300X', parentUuid: '0x7B1E4A2C9D3F5E60' })),
    );
    const [p0, p1] = devices;
    assert.equal(p0!.utilizationRatio, 0.87);
    assert.equal(p0!.powerWatts, 612);
    assert.equal(p0!.energyJoules, 1843201.554);
    assert.equal(p0!.memoryUsedBytes, 20480 * MIB);
    assert.equal(p0!.pcieBandwidthBytesPerSecond, 4096e6 / 8);
    assert.equal(p0!.powerLimitWatts, undefined, 'ROCm 7.2 ppt0 gives only the settable range, not the enforced limit');
    assert.deepEqual(p0!.temperaturesCelsius, [
      { key: 'hotspot', value: 71 },
      { key: 'memory', value: 58 },
    ]);
    assert.deepEqual(p0!.clockEventsActive, [
      { key: 'prochot_violation', value: 0 },
      { key: 'ppt_violation', value: 1 },
      { key: 'socket_thermal_violation', value: 0 },
      { key: 'vr_thermal_violation', value: 0 },
      { key: 'hbm_thermal_violation', value: 0 },
    ]);
    // Secondary partitions report no power or energy: absent, never 0.
    assert.equal(p1!.powerWatts, undefined);
    assert.equal(p1!.energyJoules, undefined);
    assert.deepEqual(p1!.clockEventsActive, []);
    assert.equal(p1!.utilizationRatio, 0.12);
    assert.deepEqual(parseProcesses(read('constructed_amd-smi_process_json__rocm7-bare-array__mi300x-cpx.json'), devices), [
      { deviceUuid: '0x7B1E4A2C9D3F5E60/xcp0', pid: 91234, name: 'python3', memoryUsedBytes: 21179478016 },
    ]);
  });

  it('ROCm 6.0 plain numbers and old key names, without static', () => {
    const [d] = parseMetric(read('constructed_amd-smi_metric_json__rocm6.0-plain-numbers__mi100.json'), new Map());
    assert.equal(d!.id.uuid, 'amd-gpu-0');
    assert.equal(d!.utilizationRatio, 0.35);
    assert.equal(d!.memoryControllerUtilizationRatio, 0.12);
    assert.equal(d!.powerWatts, 187);
    assert.equal(d!.powerLimitWatts, 300);
    assert.equal(d!.memoryUsedBytes, 5120 * MIB);
    assert.equal(d!.memoryTotalBytes, 32752 * MIB);
    assert.equal(d!.energyJoules, undefined, '"energy": "N/A" as a whole section');
    assert.deepEqual(d!.clocksHertz, [
      { key: 'graphics', value: 1502e6 },
      { key: 'memory', value: 1200e6 },
    ]);
  });

  it('unknown keys and N/A everywhere give fewer fields, never a throw', () => {
    const [d] = parseMetric([{ gpu: 3, usage: 'N/A', power: { socket_power: { value: 5, unit: 'kW?' } }, brand_new: { x: 1 } }], new Map());
    assert.deepEqual(d, emptyDevice({ vendor: 'amd', uuid: 'amd-gpu-3', pciBusId: '', index: '3', model: '' }));
  });
});
