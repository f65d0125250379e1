// The guard every reading passes on its way to the snapshot: value domains,
// duplicate uuids, the device bound, devices that stop being listed.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import pino from 'pino';
import { parseJsonOutput, parseMetric } from '../../src/backends/amd/amd-smi-parse.ts';
import { BackendError } from '../../src/backends/backend.ts';
import { MAX_DEVICES_PER_BACKEND } from '../../src/bounds.ts';
import { ReadingGuard } from '../../src/collect/reading-guard.ts';
import { emptyDevice, type DeviceSample } from '../../src/model.ts';
import { FIXTURES } from '../helpers/exporter.ts';

const silent = pino({ level: 'silent' });
const dev = (i: number, extra: Partial<DeviceSample> = {}): DeviceSample => ({
  ...emptyDevice({ vendor: 'habana', uuid: `hl-${i}`, pciBusId: `0000:${(0x10 + i).toString(16)}:00.0`, index: String(i), model: 'HL-205' }),
  ...extra,
});

describe('ReadingGuard', () => {
  it('drops amd-smi\'s "1e309" (Infinity) and negative clocks, counting each, and keeps the rest of the device', () => {
    const text = readFileSync(path.join(FIXTURES, 'amd/constructed_amd-smi_metric_json__rocm6.0-plain-numbers__mi100.json'), 'utf8')
      .replace('"gfx_usage": 35', '"gfx_usage": "1e309"')
      .replace('"cur_clk": 1502', '"cur_clk": -1502');
    const [parsed] = parseMetric(parseJsonOutput(text), new Map());
    assert.equal(parsed!.utilizationRatio, Infinity, 'the parser lets it through; the guard is the one place that stops it');
    const guard = new ReadingGuard(silent);
    const [d] = guard.accept({ devices: [parsed!], lost: [] }, 0).devices;
    assert.equal(d!.utilizationRatio, undefined);
    assert.deepEqual(d!.clocksHertz, [{ key: 'memory', value: 1200e6 }]);
    assert.equal(d!.memoryControllerUtilizationRatio, 0.12);
    assert.equal(d!.powerWatts, 187);
    assert.deepEqual(guard.counters().valuesDropped, { non_finite: 1, negative: 1, above_one: 0 });
  });

  it('knows each numeric field\'s domain: ratios to 1 plus rounding, fan speed and temperatures beyond', () => {
    const guard = new ReadingGuard(silent);
    const [d] = guard.accept({
      devices: [dev(0, {
        utilizationRatio: 1.005,
        memoryControllerUtilizationRatio: 1.2,
        fanSpeedRatio: 1.1,
        temperaturesCelsius: [{ key: 'gpu', value: -5 }, { key: 'memory', value: NaN }],
        errors: [{ key: 'ecc_corrected', value: -1 }],
        energyJoules: -Infinity,
        coreUtilizationRatio: [{ key: '0', value: 0.5 }, { key: '1', value: 7 }],
      })],
      lost: [],
    }, 0).devices;
    assert.equal(d!.utilizationRatio, 1.005);
    assert.equal(d!.memoryControllerUtilizationRatio, undefined);
    assert.equal(d!.fanSpeedRatio, 1.1);
    assert.deepEqual(d!.temperaturesCelsius, [{ key: 'gpu', value: -5 }]);
    assert.deepEqual(d!.errors, []);
    assert.equal(d!.energyJoules, undefined);
    assert.deepEqual(d!.coreUtilizationRatio, [{ key: '0', value: 0.5 }]);
    assert.deepEqual(guard.counters().valuesDropped, { non_finite: 2, negative: 1, above_one: 2 });
  });

  it('drops processes with an impossible pid and process memory below zero', () => {
    const r = new ReadingGuard(silent).accept({
      devices: [dev(0)],
      lost: [],
      processes: [
        { deviceUuid: 'hl-0', pid: 10, name: 'a', memoryUsedBytes: -1 },
        { deviceUuid: 'hl-0', pid: -3, name: 'b' },
        { deviceUuid: 'hl-0', pid: 11, name: 'c', memoryUsedBytes: 5 },
      ],
    }, 0);
    assert.deepEqual(r.processes, [{ deviceUuid: 'hl-0', pid: 10, name: 'a' }, { deviceUuid: 'hl-0', pid: 11, name: 'c', memoryUsedBytes: 5 }]);
  });

  it('keeps the first of several devices under one uuid and counts the others', () => {
    const guard = new ReadingGuard(silent);
    const same = (i: number) => ({ ...dev(i), id: { ...dev(i).id, uuid: 'GPU-same' } });
    const r = guard.accept({ devices: [same(0), same(1), same(2), dev(3)], lost: [] }, 0);
    assert.deepEqual(r.devices.map((d) => [d.id.uuid, d.id.index]), [['GPU-same', '0'], ['hl-3', '3']]);
    assert.equal(guard.counters().duplicateDevices, 2);
  });

  it(`fails a reading of more than ${MAX_DEVICES_PER_BACKEND} devices as too_large`, () => {
    const guard = new ReadingGuard(silent);
    assert.equal(guard.accept({ devices: Array.from({ length: MAX_DEVICES_PER_BACKEND }, (_, i) => dev(i)), lost: [] }, 0).devices.length, MAX_DEVICES_PER_BACKEND);
    assert.throws(
      () => guard.accept({ devices: Array.from({ length: MAX_DEVICES_PER_BACKEND + 1 }, (_, i) => dev(i)), lost: [] }, 0),
      (err: Error) => err instanceof BackendError && err.reason === 'too_large',
    );
  });

  it('reports devices that stop being listed (hl-smi 4 of 8) for the grace period, once each, and forgets them after', () => {
    const warnings: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line).uuid) });
    const guard = new ReadingGuard(log);
    const eight = Array.from({ length: 8 }, (_, i) => dev(i));
    guard.accept({ devices: eight, lost: [] }, 0);
    guard.accept({ devices: eight.slice(0, 4), lost: [] }, 1000);
    guard.accept({ devices: eight.slice(0, 4), lost: [] }, 2000);
    assert.deepEqual(guard.missing(2000, 3000).map((m) => [m.id.uuid, m.sinceMs]), [['hl-4', 0], ['hl-5', 0], ['hl-6', 0], ['hl-7', 0]]);
    assert.equal(guard.counters().vanishedDevices, 4);
    assert.deepEqual(warnings, ['hl-4', 'hl-5', 'hl-6', 'hl-7']);
    // One comes back; the rest are forgotten past the grace period.
    guard.accept({ devices: eight.slice(0, 5), lost: [] }, 2500);
    assert.deepEqual(guard.missing(2500, 3000).map((m) => m.id.uuid), ['hl-5', 'hl-6', 'hl-7']);
    assert.deepEqual(guard.missing(3001, 3000), []);
    assert.equal(guard.counters().vanishedDevices, 4);
  });

  it('does not count a device the tool names as lost (it is reported as such)', () => {
    const guard = new ReadingGuard(silent);
    guard.accept({ devices: [dev(0), dev(1)], lost: [] }, 0);
    guard.accept({ devices: [dev(0)], lost: [{ pciBusId: dev(1).id.pciBusId, message: 'GPU is lost' }] }, 1000);
    assert.deepEqual([guard.counters().vanishedDevices, guard.missing(1000, 3000).length], [0, 0]);
  });
});
