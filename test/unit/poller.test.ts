// The poller with in-memory backends and a hand-driven clock: grace period,
// recovery, no-data versus failure, and a sample that never returns.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { BackendError, NoDataError, type Backend } from '../../src/backends/backend.ts';
import { ParseError } from '../../src/backends/values.ts';
import { Poller, type SampleOutcome } from '../../src/collect/poller.ts';
import { snapshotSelfFamilies } from '../../src/metrics/self-families.ts';
import { emptyDevice, type BackendReading } from '../../src/model.ts';

const reading: BackendReading = {
  devices: [{ ...emptyDevice({ vendor: 'nvidia', uuid: 'GPU-a', pciBusId: '0000:01:00.0', index: '0', model: 'X' }), utilizationRatio: 0.5 }],
  processes: [],
  lost: [],
};

function scripted(outcomes: (() => Promise<BackendReading>)[]): Backend {
  let i = 0;
  return { name: 'fake', sample: () => outcomes[Math.min(i++, outcomes.length - 1)]!(), toolStarts: () => i, close: async () => {} };
}

const ok = () => Promise.resolve(reading);
const fail = () => Promise.reject(new BackendError('exit_code', 'driver gone'));
const silent = pino({ level: 'silent' });

describe('poller', () => {
  it('serves the last good reading during the grace period, then drops it, then recovers', async () => {
    let now = 0;
    const p = new Poller([{ backend: scripted([ok, fail, fail, fail, ok]), vendor: 'nvidia', intervalMs: 1000 }], {
      timeoutMs: 500,
      graceIntervals: 2,
      log: silent,
      now: () => now,
    });
    await p.sampleAll();
    assert.equal(p.current().devices.length, 1);
    now = 1000;
    await p.sampleAll();
    assert.deepEqual([p.current().devices.length, p.current().backends[0]!.state, p.current().backends[0]!.servingLastGood], [1, 'failed', true]);
    now = 2000;
    await p.sampleAll();
    assert.equal(p.current().devices.length, 1, 'still inside 2 intervals');
    now = 3000;
    await p.sampleAll();
    assert.deepEqual([p.current().devices.length, p.current().backends[0]!.servingLastGood], [0, false]);
    assert.equal(p.current().backends[0]!.failures.exit_code, 3);
    now = 4000;
    await p.sampleAll();
    assert.deepEqual([p.current().devices.length, p.current().backends[0]!.state], [1, 'ok']);
  });

  it('reports no data without counting a failure', async () => {
    const p = new Poller([{ backend: scripted([() => Promise.reject(new NoDataError('nvidia-smi not found'))]), vendor: 'nvidia', intervalMs: 1000 }], {
      timeoutMs: 500,
      graceIntervals: 2,
      log: silent,
    });
    assert.equal(p.settled(), false);
    await p.sampleAll();
    const b = p.current().backends[0]!;
    assert.deepEqual([b.state, b.lastMessage, Object.values(b.failures).reduce((a, c) => a + c)], ['no_data', 'nvidia-smi not found', 0]);
    assert.equal(p.settled(), true);
  });

  it('moves on from a sample that never returns, as a timeout', async () => {
    const p = new Poller([{ backend: scripted([() => new Promise(() => {})]), vendor: 'nvidia', intervalMs: 1000 }], {
      timeoutMs: 50,
      graceIntervals: 2,
      log: silent,
    });
    await p.sampleAll();
    assert.deepEqual([p.current().backends[0]!.state, p.current().backends[0]!.failures.timeout], ['failed', 1]);
  });

  it('keeps the identity of a device that later falls off the bus', async () => {
    const lostReading: BackendReading = { devices: [], processes: [], lost: [{ pciBusId: '0000:01:00.0', message: 'GPU is lost' }] };
    const p = new Poller([{ backend: scripted([ok, () => Promise.resolve(lostReading)]), vendor: 'nvidia', intervalMs: 1000 }], {
      timeoutMs: 500,
      graceIntervals: 2,
      log: silent,
    });
    await p.sampleAll();
    await p.sampleAll();
    assert.deepEqual(p.current().health, [{ id: reading.devices[0]!.id, up: 0, message: 'GPU is lost' }]);
  });

  it('keeps a superseded backend idle while the superseding one serves, and never serves both', async () => {
    let now = 0;
    let primaryCalls = 0;
    let fallbackCalls = 0;
    const outcomes = [ok, fail, fail, fail, ok, ok];
    const primary: Backend = { name: 'nvml', sample: () => outcomes[Math.min(primaryCalls++, outcomes.length - 1)]!(), toolStarts: () => 0, close: async () => {} };
    const fallback: Backend = { name: 'nvidia-smi', sample: () => (fallbackCalls++, ok()), toolStarts: () => fallbackCalls, close: async () => {} };
    const p = new Poller(
      [
        { backend: primary, vendor: 'nvidia', intervalMs: 1000, supersedes: ['nvidia-smi'] },
        { backend: fallback, vendor: 'nvidia', intervalMs: 1000 },
      ],
      { timeoutMs: 500, graceIntervals: 2, log: silent, now: () => now },
    );
    const view = () => ({ devices: p.current().devices.length, states: p.current().backends.map((b) => b.state), fallbackCalls });
    await p.sampleAll();
    assert.deepEqual(view(), { devices: 1, states: ['ok', 'no_data'], fallbackCalls: 0 });
    assert.equal(p.current().backends[1]!.lastMessage, 'nvml reads these devices');
    // Failing inside its grace period, nvml still serves: the fallback stays idle.
    for (now of [1000, 2000]) await p.sampleAll();
    assert.deepEqual(view(), { devices: 1, states: ['failed', 'no_data'], fallbackCalls: 0 });
    // Past the grace period the fallback takes over, and only one reading is served.
    now = 3000;
    await p.sampleAll();
    assert.deepEqual(view(), { devices: 1, states: ['failed', 'ok'], fallbackCalls: 1 });
    // nvml back: the fallback's reading is dropped at once and it goes idle again.
    now = 4000;
    await p.sampleAll();
    assert.deepEqual(view(), { devices: 1, states: ['ok', 'no_data'], fallbackCalls: 1 });
  });

  it('counts a bug of its own as internal and the tool\'s unexpected output as parse, and hands each outcome to aroundSample', async () => {
    const outcomes: (SampleOutcome & { backend: string })[] = [];
    let now = 0;
    const p = new Poller([{ backend: scripted([ok, () => Promise.reject(new TypeError("Cannot read properties of undefined (reading 'trim')")), fail, () => Promise.reject(new ParseError('expected a JSON array'))]), vendor: 'nvidia', intervalMs: 1000 }], {
      timeoutMs: 500,
      graceIntervals: 0,
      log: silent,
      now: () => (now += 1000),
      aroundSample: async (backend, attempt) => {
        const o = await attempt();
        outcomes.push({ ...o, backend });
        return o;
      },
    });
    const failures = () => snapshotSelfFamilies({ version: 'v', nodeVersion: 'n' }).find((f) => f.name === 'accelerator_exporter_backend_failures_total')!;
    const reasons = () => [...failures().samples(p.current(), 0)].map((x) => `${x.labels[1]}=${x.value}`);
    await p.sampleAll();
    assert.deepEqual(reasons(), ['timeout=0', 'exit_code=0', 'parse=0', 'spawn=0', 'too_large=0', 'empty=0'], 'internal is not exported before it happens');
    await p.sampleAll();
    await p.sampleAll();
    await p.sampleAll();
    assert.deepEqual(reasons(), ['timeout=0', 'exit_code=1', 'parse=1', 'spawn=0', 'too_large=0', 'empty=0', 'internal=1']);
    assert.deepEqual(
      outcomes.map(({ durationSeconds, ...o }) => (assert.ok(durationSeconds >= 0), o)),
      [
        { backend: 'fake', state: 'ok', devices: 1 },
        { backend: 'fake', state: 'failed', reason: 'internal', message: "Cannot read properties of undefined (reading 'trim')", devices: 0 },
        { backend: 'fake', state: 'failed', reason: 'exit_code', message: 'driver gone', devices: 0 },
        { backend: 'fake', state: 'failed', reason: 'parse', message: 'expected a JSON array', devices: 0 },
      ],
    );
  });
});
