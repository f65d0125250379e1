import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseNeuronReport } from '../../src/backends/aws/neuron-monitor-report.ts';
import { FIXTURES } from '../helpers/exporter.ts';

const REPORTS = readFileSync(path.join(FIXTURES, 'neuron/neuron-monitor_stream_3-reports__trn1.2xlarge__wandb-test_trainium.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('parseNeuronReport', () => {
  it('turns the first trn1.2xlarge report into one device with two cores', () => {
    const r = parseNeuronReport(REPORTS[0]);
    assert.deepEqual(r.errors, []);
    assert.equal(r.devices.length, 1);
    const d = r.devices[0]!;
    assert.deepEqual(d.id, { vendor: 'aws', uuid: 'i-01db7a16f4c054239-neuron0', pciBusId: '', index: '0', model: 'Trainium' });
    assert.deepEqual(d.coreUtilizationRatio, [
      { key: '0', value: 0.013631567613356375 },
      { key: '1', value: 0 },
    ]);
    assert.equal(d.utilizationRatio, 0.013631567613356375 / 2);
    // Per-core breakdown: 196608 + 101125344 + 943608 (core 0) + 32768 (core 1), equal to the runtime's neuron_device total.
    assert.equal(d.memoryUsedBytes, 102298328);
    assert.deepEqual(d.errors, [{ key: 'ecc_corrected', value: 0 }, { key: 'ecc_uncorrected', value: 0 }]);
    assert.deepEqual(r.processes, [{ deviceUuid: 'i-01db7a16f4c054239-neuron0', pid: 1337, name: '1337', memoryUsedBytes: 102298328 }]);
  });

  it('follows the next reports (pid 16851)', () => {
    const r = parseNeuronReport(REPORTS[1]);
    assert.equal(r.devices[0]!.memoryUsedBytes, 101876188);
    assert.equal(r.processes[0]!.pid, 16851);
    assert.equal(r.devices[0]!.coreUtilizationRatio![0]!.value, 0.013560819560861623);
  });

  it('degrades: no runtime means absent utilisation, unknown sections are ignored, no hardware means no devices', () => {
    const idle = parseNeuronReport({ ...REPORTS[0], neuron_runtime_data: [], something_new: { x: 1 } });
    assert.equal(idle.devices[0]!.utilizationRatio, undefined);
    assert.deepEqual(idle.devices[0]!.coreUtilizationRatio, []);
    assert.equal(idle.devices[0]!.memoryUsedBytes, undefined);
    assert.deepEqual(idle.processes, []);
    assert.deepEqual(parseNeuronReport({ neuron_hardware_info: { neuron_device_count: 0, error: 'no devices' } }), { devices: [], processes: [], errors: ['no devices'] });
    assert.deepEqual(parseNeuronReport('garbage').devices, []);
  });
});
