// The rocm-smi parser against every captured release (test/fixtures/amd/SOURCES.md):
// telegraf's `--json` captures from ROCm 4.3.0 to 6.1.2 plus two older Vega
// ones, and slurm-monitor's `--csv` captures. Expected values are read off the
// captures by hand.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseRocmSmiOutput, rocmSmiDevices } from '../../src/backends/amd/rocm-smi-parse.ts';
import { emptyDevice, type DeviceIdentity, type DeviceSample } from '../../src/model.ts';
import { FIXTURES } from '../helpers/exporter.ts';

const devicesOf = (f: string) => rocmSmiDevices(parseRocmSmiOutput(readFileSync(path.join(FIXTURES, 'amd', f), 'utf8')));
const amd = (uuid: string, pciBusId: string, index: string, model: string): DeviceIdentity => ({ vendor: 'amd', uuid, pciBusId, index, model });
const dev = (id: DeviceIdentity, fields: Partial<DeviceSample>): DeviceSample => ({ ...emptyDevice(id), ...fields });
const temps = (edge: number, hotspot: number, memory: number) => [
  { key: 'edge' as const, value: edge },
  { key: 'hotspot' as const, value: hotspot },
  { key: 'memory' as const, value: memory },
];
const clocks = (graphicsMhz: number, memoryMhz: number) => [
  { key: 'graphics' as const, value: graphicsMhz * 1e6 },
  { key: 'memory' as const, value: memoryMhz * 1e6 },
];
const RX6700XT = 'Navi 22 [Radeon RX 6700/6700 XT / 6800M]';
const RX_INFO = { driver_version: '6.3.6', vbios_version: '113-67XA6SSB1-D01' };

describe('rocm-smi --json, one release at a time', () => {
  it('ROCm 4.3.0 (RX 6700 XT): `GPU ID`, hex-only card names, HBM sensors N/A', () => {
    assert.deepEqual(devicesOf('rocm-smi_json__telegraf__rx6700xt_rocm430.json'), [
      dev(amd('0000:07:00.0', '0000:07:00.0', '0', '0x73df'), {
        info: RX_INFO,
        temperaturesCelsius: temps(45, 47, 46),
        clocksHertz: clocks(500, 96),
        utilizationRatio: 0,
        memoryControllerUtilizationRatio: 0,
        memoryUsedBytes: 1622728704,
        memoryTotalBytes: 12868124672,
        powerWatts: 6,
        powerLimitWatts: 211,
        pcieLinkGeneration: 4,
        pcieLinkWidth: 16,
      }),
    ]);
  });

  it('ROCm 5.7.1 (RX 6700 XT): `Card series` names the card', () => {
    assert.deepEqual(devicesOf('rocm-smi_json__telegraf__rx6700xt_rocm571.json'), [
      dev(amd('0000:07:00.0', '0000:07:00.0', '0', RX6700XT), {
        info: RX_INFO,
        temperaturesCelsius: temps(45, 47, 46),
        clocksHertz: clocks(500, 96),
        utilizationRatio: 0,
        memoryControllerUtilizationRatio: 0,
        memoryUsedBytes: 1564491776,
        memoryTotalBytes: 12868124672,
        powerWatts: 6,
        powerLimitWatts: 211,
        pcieLinkGeneration: 4,
        pcieLinkWidth: 16,
      }),
    ]);
  });

  it('ROCm 6.0.2 (RX 6700 XT): `Device ID`; power "N/A (Secondary die)" is absent, not 0', () => {
    const [d] = devicesOf('rocm-smi_json__telegraf__rx6700xt_rocm602.json');
    assert.deepEqual(d, dev(amd('0000:07:00.0', '0000:07:00.0', '0', RX6700XT), {
      info: RX_INFO,
      temperaturesCelsius: temps(45, 47, 46),
      clocksHertz: clocks(500, 96),
      utilizationRatio: 0,
      memoryControllerUtilizationRatio: 0,
      memoryUsedBytes: 1572757504,
      memoryTotalBytes: 12868124672,
      powerLimitWatts: 211,
      pcieLinkGeneration: 4,
      pcieLinkWidth: 16,
    }));
    assert.equal('powerWatts' in d!, false);
  });

  it('ROCm 6.1.2 (RX 6700 XT): a leading blank line, `Device Name`, `GPU Memory Read/Write Activity (%)`', () => {
    assert.deepEqual(devicesOf('rocm-smi_json__telegraf__rx6700xt_rocm612.json'), [
      dev(amd('0000:07:00.0', '0000:07:00.0', '0', RX6700XT), {
        info: RX_INFO,
        temperaturesCelsius: temps(45, 47, 46),
        clocksHertz: clocks(0, 96),
        utilizationRatio: 0,
        memoryControllerUtilizationRatio: 0,
        memoryUsedBytes: 1572745216,
        memoryTotalBytes: 12868124672,
        powerWatts: 6,
        powerLimitWatts: 211,
        pcieLinkGeneration: 4,
        pcieLinkWidth: 16,
      }),
    ]);
  });

  it('ROCm 5.7.1 (6x MI100): one device per card, keyed by bus id (Unique ID N/A, serial "0")', () => {
    const ds = devicesOf('rocm-smi_json__telegraf__mi100_rocm571.json');
    assert.deepEqual(ds[0], dev(amd('0000:1e:00.0', '0000:1e:00.0', '0', 'Arcturus GL-XL [Instinct MI100]'), {
      info: { driver_version: '6.2.4', vbios_version: '113-D3430400-037' },
      temperaturesCelsius: temps(31, 34, 30),
      clocksHertz: clocks(300, 1200),
      utilizationRatio: 0,
      memoryControllerUtilizationRatio: 0,
      memoryUsedBytes: 6782976,
      memoryTotalBytes: 34342961152,
      powerWatts: 39,
      powerLimitWatts: 290,
      pcieLinkGeneration: 3,
      pcieLinkWidth: 16,
    }));
    assert.deepEqual(
      ds.map((d) => [d.id.index, d.id.uuid, d.powerWatts, d.temperaturesCelsius.map((t) => t.value)]),
      [
        ['0', '0000:1e:00.0', 39, [31, 34, 30]],
        ['1', '0000:22:00.0', 37, [30, 33, 38]],
        ['2', '0000:3f:00.0', 35, [31, 34, 31]],
        ['3', '0000:43:00.0', 39, [33, 35, 36]],
        ['4', '0000:46:00.0', 39, [32, 34, 38]],
        ['5', '0000:49:00.0', 40, [33, 35, 38]],
      ],
    );
  });

  it('Vega 10 XT (older rocm-smi): hex Unique ID as uuid, fan, no memory busy key', () => {
    assert.deepEqual(devicesOf('rocm-smi_json__telegraf__vega-10-XT.json'), [
      dev(amd('0x2150e7d042a1124', '0000:04:00.0', '0', '0x6861'), {
        info: { driver_version: '5.9.25', vbios_version: '113-D0510100-106' },
        temperaturesCelsius: temps(39, 40, 92),
        clocksHertz: clocks(1269, 167),
        utilizationRatio: 0,
        memoryUsedBytes: 17776640,
        memoryTotalBytes: 17163091968,
        powerWatts: 15,
        powerLimitWatts: 170,
        fanSpeedRatio: 0.13,
        pcieLinkGeneration: 3,
        pcieLinkWidth: 16,
      }),
    ]);
  });

  it('Vega 20 WKS GL-XE (MI50 32GB): serial, and topology keys in `system` ignored', () => {
    assert.deepEqual(devicesOf('rocm-smi_json__telegraf__vega-20-WKS-GL-XE.json'), [
      dev(amd('0x2f048617326b1ea', '0000:63:00.0', '0', 'Radeon Instinct MI50 32GB'), {
        info: { driver_version: '5.9.17', vbios_version: '113-D1631700-111', serial: '692024000810' },
        temperaturesCelsius: temps(36, 38, 35),
        clocksHertz: clocks(1725, 1000),
        utilizationRatio: 0,
        memoryControllerUtilizationRatio: 0,
        memoryUsedBytes: 10850304,
        memoryTotalBytes: 34342961152,
        powerWatts: 26,
        powerLimitWatts: 225,
        fanSpeedRatio: 0,
        pcieLinkGeneration: 4,
        pcieLinkWidth: 16,
      }),
    ]);
  });
});

describe('rocm-smi --csv (slurm-monitor captures)', () => {
  const mi100 = (power: number) =>
    dev(amd('0x19645d9a01fc11bd', '', '0', 'Arcturus GL-XL [Instinct MI100]'), {
      temperaturesCelsius: temps(31, 35, 37),
      utilizationRatio: 0,
      memoryControllerUtilizationRatio: 0,
      memoryUsedBytes: 6762496,
      memoryTotalBytes: 34342961152,
      powerWatts: power,
    });

  it('reads power under both names: `Average ...` (2.3) and `Current Socket ...` (2.3.1)', () => {
    assert.deepEqual(devicesOf('rocm-smi_csv__MI100__rocm-smi-2.3__slurm-monitor.csv'), [mi100(35)]);
    assert.deepEqual(devicesOf('rocm-smi_csv__MI100__rocm-smi-2.3.1_current-socket-power__slurm-monitor.csv'), [mi100(35)]);
  });

  it('skips the WARNING line rocm-smi prints before the document', () => {
    const withWarning = devicesOf('rocm-smi_csv__MI210_2x_with_warning_line__slurm-monitor_v2.csv');
    assert.deepEqual(
      withWarning.map((d) => [d.id.uuid, d.id.model, d.powerWatts, d.memoryTotalBytes, d.temperaturesCelsius.map((t) => t.value)]),
      [
        ['0x18f68e602b8a790f', 'Instinct MI210', 41, 68702699520, [41, 44, 53]],
        ['0x95a1ca7691e7c391', 'Instinct MI210', 39, 68702699520, [44, 44, 49]],
      ],
    );
    assert.equal(devicesOf('rocm-smi_csv__MI210_2x__rocm-smi-1.4.1__slurm-monitor.csv').length, 2);
  });

  it('reads the 1.x MI50 row, HBM sensors ignored', () => {
    assert.deepEqual(devicesOf('rocm-smi_csv__MI50-RadeonProVII__slurm-monitor_v1.csv'), [
      dev(amd('0x2490210172fc1a88', '', '0', 'Vega 20 [Radeon Pro VII/Radeon Instinct MI50 32GB]'), {
        temperaturesCelsius: temps(33, 34, 32),
        utilizationRatio: 0,
        memoryControllerUtilizationRatio: 0,
        memoryUsedBytes: 10854400,
        memoryTotalBytes: 17163091968,
        powerWatts: 19,
      }),
    ]);
  });
});

describe('rocm-smi output edges', () => {
  it('rejects output with no document, and broken JSON', () => {
    assert.throws(() => parseRocmSmiOutput('WARNING: No AMD GPUs specified\n'), /no JSON or CSV document/);
    assert.throws(() => parseRocmSmiOutput('{"card0": {"GPU use (%)": '), /invalid JSON/);
  });

  it('a document with only `system` has no cards', () => {
    assert.equal(parseRocmSmiOutput('WARNING: No AMD GPUs specified\n{"system": {"Driver version": "6.3.6"}}').cards.size, 0);
  });

  it('falls back to amd-gpu-<card> when neither Unique ID nor PCI Bus is present', () => {
    const [d] = rocmSmiDevices(parseRocmSmiOutput('{"card3": {"GPU use (%)": "57", "Unique ID": "N/A"}}'));
    assert.deepEqual(d!.id, amd('amd-gpu-3', '', '3', ''));
    assert.equal(d!.utilizationRatio, 0.57);
  });
});
