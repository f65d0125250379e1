// The nvidia-smi parsers against real captured bytes: every exported value
// must equal the capture's, with units converted (MiB to bytes, % to ratio).

import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseComputeApps, parseGpuRows, parseHelpQuery, planQuery } from '../../src/backends/nvidia/nvidia-smi-fields.ts';
import { isAbsent, parseNumber } from '../../src/backends/values.ts';
import { answerQuery, readCapture } from '../fake-tools/lib/capture.mjs';
import { FIXTURES } from '../helpers/exporter.ts';

const h100 = readCapture(path.join(FIXTURES, 'nvidia/capture_h100-80gb-hbm3_590.48.01_linux.txt'));
const rtx = readCapture(path.join(FIXTURES, 'nvidia/capture_rtx-2080-super_610.57.04_linux.txt'));
const MIB = 1048576;
const NOUNITS = ['csv', 'noheader', 'nounits'];

function sample(sections: Map<string, string>, state = 'load') {
  const plan = planQuery(parseHelpQuery(sections.get('capabilities :: help-query-gpu')!));
  const out = answerQuery(sections, state, 'query-gpu', [...plan.fields], NOUNITS);
  assert.equal(out.code, 0);
  return { plan, ...parseGpuRows(out.text, plan) };
}

describe('nvidia-smi field discovery', () => {
  it('reads every field and alias of --help-query-gpu (590 and 610 drivers)', () => {
    const f590 = parseHelpQuery(h100.get('capabilities :: help-query-gpu')!);
    const f610 = parseHelpQuery(rtx.get('capabilities :: help-query-gpu')!);
    assert.ok(f590.has('clocks_event_reasons.hw_slowdown') && f590.has('clocks_throttle_reasons.hw_slowdown'));
    assert.ok(f590.has('gpu_name') && f590.has('name'));
    assert.ok(!f590.has('kmd_version'));
    assert.ok(f610.has('kmd_version'));
  });

  it('prefers kmd_version on 610 drivers and driver_version before', () => {
    const p590 = planQuery(parseHelpQuery(h100.get('capabilities :: help-query-gpu')!));
    const p610 = planQuery(parseHelpQuery(rtx.get('capabilities :: help-query-gpu')!));
    assert.equal(p590.fields[p590.ids.indexOf('driver_version')], 'driver_version');
    assert.equal(p610.fields[p610.ids.indexOf('driver_version')], 'kmd_version');
  });

  it('falls back to clocks_throttle_reasons on drivers that predate the rename', () => {
    const old = new Set(['uuid', 'pci.bus_id', 'index', 'name', 'clocks_throttle_reasons.hw_slowdown']);
    const plan = planQuery(old);
    assert.deepEqual(plan.fields, ['uuid', 'pci.bus_id', 'index', 'name', 'clocks_throttle_reasons.hw_slowdown']);
    assert.ok(plan.unsupported.includes('utilization.gpu'));
  });

  it('refuses a driver without identity fields', () => {
    assert.throws(() => planQuery(new Set(['name', 'index'])), /identity field "uuid"/);
  });
});

describe('nvidia-smi values', () => {
  it('treats every non-value spelling as absent, never 0', () => {
    for (const v of ['[N/A]', 'N/A', '[Not Supported]', '[Unknown Error]', '[Insufficient Permissions]', '[GPU requires reset]', '[GPU is lost]', '[Requested functionality has been deprecated]', '', '  ']) {
      assert.ok(isAbsent(v), v);
      assert.equal(parseNumber(v), undefined, v);
    }
    assert.equal(parseNumber('0x233010DE'), 0x233010de);
    assert.equal(parseNumber('631.95'), 631.95);
    assert.equal(parseNumber('P0'), undefined);
    assert.equal(parseNumber('12abc'), undefined);
  });

  it('reads the H100 load capture', () => {
    const { devices, lost, badLines } = sample(h100);
    assert.deepEqual([lost, badLines], [[], []]);
    assert.deepEqual(devices, [
      {
        id: { vendor: 'nvidia', uuid: 'GPU-00000000-0000-0000-0000-000000000000', pciBusId: '0000:00:09.0', index: '0', model: 'NVIDIA H100 80GB HBM3' },
        info: {
          driver_version: '590.48.01',
          vbios_version: '96.00.A5.00.01',
          serial: '0000000000000',
          compute_capability: '9.0',
          mig_mode: 'disabled',
          ecc_mode: 'enabled',
          persistence_mode: 'enabled',
          compute_mode: 'default',
        },
        utilizationRatio: 1,
        memoryControllerUtilizationRatio: 0.11,
        memoryUsedBytes: 19818 * MIB,
        memoryTotalBytes: 81559 * MIB,
        powerWatts: 631.95,
        powerLimitWatts: 700,
        temperaturesCelsius: [
          { key: 'gpu', value: 59 },
          { key: 'memory', value: 54 },
        ],
        errors: [
          { key: 'ecc_corrected', value: 0 },
          { key: 'ecc_uncorrected', value: 0 },
        ],
        clocksHertz: [
          { key: 'graphics', value: 1980e6 },
          { key: 'sm', value: 1980e6 },
          { key: 'memory', value: 2619e6 },
          { key: 'video', value: 1545e6 },
        ],
        maxClocksHertz: [
          { key: 'graphics', value: 1980e6 },
          { key: 'sm', value: 1980e6 },
          { key: 'memory', value: 2619e6 },
        ],
        engineUtilizationRatio: [
          { key: 'encoder', value: 0 },
          { key: 'decoder', value: 0 },
          { key: 'jpeg', value: 0 },
          { key: 'ofa', value: 0 },
        ],
        clockEventsActive: ['gpu_idle', 'applications_clocks_setting', 'sw_power_cap', 'hw_slowdown', 'hw_thermal_slowdown', 'hw_power_brake_slowdown', 'sw_thermal_slowdown', 'sync_boost'].map((key) => ({ key, value: 0 })),
        clockEventSeconds: ['sw_power_cap', 'sync_boost', 'sw_thermal_slowdown', 'hw_thermal_slowdown', 'hw_power_brake_slowdown'].map((key) => ({ key, value: 0 })),
        fanSpeedRatio: undefined,
        performanceState: 0,
        pcieLinkGeneration: 5,
        pcieLinkWidth: 16,
        remappedRows: [
          { key: 'correctable', value: 0 },
          { key: 'uncorrectable', value: 0 },
        ],
        remappedRowsPending: 0,
        remappedRowsFailure: 0,
        retiredPages: [],
        retiredPagesPending: undefined,
        recoveryAction: 0,
      },
    ]);
  });

  it('reads the RTX 2080 SUPER (610 driver): fan, P2, no ECC, N/A memory temperature', () => {
    const d = sample(rtx).devices[0]!;
    assert.equal(d.info.driver_version, '610.57.04');
    assert.equal(d.info.ecc_mode, undefined);
    assert.equal(d.fanSpeedRatio, 0.38);
    assert.equal(d.performanceState, 2);
    assert.deepEqual(d.temperaturesCelsius, [{ key: 'gpu', value: 38 }]);
    assert.deepEqual(d.errors, []);
    assert.equal(d.memoryUsedBytes, 815 * MIB);
    assert.equal(d.powerWatts, 98.14);
    assert.deepEqual(d.engineUtilizationRatio[0], { key: 'encoder', value: 1 });
  });

  it('keeps the other GPUs when one fell off the bus', () => {
    const plan = planQuery(parseHelpQuery(h100.get('capabilities :: help-query-gpu')!));
    const out = answerQuery(h100, 'load', 'query-gpu', [...plan.fields], NOUNITS, { gpus: 3, lostLast: true });
    const r = parseGpuRows(out.text, plan);
    assert.deepEqual(r.devices.map((d) => d.id.index), ['0', '1']);
    assert.deepEqual(r.lost, [{ pciBusId: '0000:12:09.0', message: 'GPU is lost.  Reboot the system to recover this GPU' }]);
  });

  it('rejects rows of the wrong width instead of shifting values into the wrong columns', () => {
    const plan = planQuery(new Set(['uuid', 'pci.bus_id', 'index', 'name', 'power.draw']));
    const r = parseGpuRows('GPU-1234, 00000000:3B:00.0, 0, Some, GPU, 100\nUnable to determine the device handle for GPU0000:3C:00.0: Unknown Error\n', plan);
    assert.deepEqual(r.devices, []);
    assert.deepEqual(r.lost, [{ pciBusId: '0000:3c:00.0', message: 'Unknown Error' }]);
    assert.equal(r.badLines.length, 1);
  });

  it('reads --query-compute-apps with commas inside process names', () => {
    const out = answerQuery(h100, 'load', 'query-compute-apps', ['gpu_uuid', 'pid', 'process_name', 'used_gpu_memory'], NOUNITS);
    const { processes } = parseComputeApps(out.text + 'GPU-00000000-0000-0000-0000-000000000000, 42, python train.py --a=1,2, [N/A]\n');
    assert.deepEqual(processes, [
      { deviceUuid: 'GPU-00000000-0000-0000-0000-000000000000', pid: 11327, name: '/root/tools/memhog', memoryUsedBytes: 2566 * MIB },
      { deviceUuid: 'GPU-00000000-0000-0000-0000-000000000000', pid: 11328, name: '/root/tools/memhog', memoryUsedBytes: 1542 * MIB },
      { deviceUuid: 'GPU-00000000-0000-0000-0000-000000000000', pid: 11345, name: './gpu_burn', memoryUsedBytes: 15690 * MIB },
      { deviceUuid: 'GPU-00000000-0000-0000-0000-000000000000', pid: 42, name: 'python train.py --a=1,2', memoryUsedBytes: undefined },
    ]);
  });
});
