// The nvml backend against a TypeScript stand-in of NvmlApi: fallback to
// "no data", lost devices, a blocked call, process shares. The real binding
// is tested end to end against the fake libnvidia-ml (test/e2e/nvml*.test.ts).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { BackendError, NoDataError } from '../../src/backends/backend.ts';
import { NVML, type NvmlApi, type Result } from '../../src/backends/nvidia/nvml-api.ts';
import { NvmlBackend } from '../../src/backends/nvidia/nvml.ts';

const log = pino({ level: 'silent' });
const signal = () => new AbortController().signal;
const UUID = 'GPU-13719f71-412c-d11e-b236-a262f530a4fc';

/** Every call answers NOT_SUPPORTED unless overridden; calls are recorded by name. */
function standIn(over: Partial<Record<keyof NvmlApi, (...a: any[]) => unknown>>, calls: string[] = []): NvmlApi {
  const base: Partial<Record<keyof NvmlApi, (...a: any[]) => unknown>> = {
    init: async () => NVML.SUCCESS,
    shutdown: async () => NVML.SUCCESS,
    deviceGetCount: async () => ({ ret: NVML.SUCCESS, value: 1 }),
    deviceGetHandleByIndex: async (i: number) => ({ ret: NVML.SUCCESS, value: BigInt(i + 1) }),
    deviceGetUUID: async () => ({ ret: NVML.SUCCESS, value: UUID }),
    deviceGetPciInfo: async () => ({ ret: NVML.SUCCESS, value: { busId: '00000000:3B:00.0' } }),
    deviceGetName: async () => ({ ret: NVML.SUCCESS, value: 'NVIDIA A100 80GB PCIe' }),
    sameDevice: (a: unknown, b: unknown) => a === b,
    exitNow: () => {},
  };
  return new Proxy({} as NvmlApi, {
    get(_, name: string) {
      // Not a thenable: the loader's promise resolves to this object.
      if (name === 'then') return undefined;
      const f = (over as Record<string, unknown>)[name] ?? (base as Record<string, unknown>)[name];
      return (...args: unknown[]) => {
        calls.push(name);
        if (f) return (f as (...a: unknown[]) => unknown)(...args);
        return Promise.resolve(name.startsWith('gpmSample') || name === 'eventSetFree' || name === 'deviceRegisterEvents' ? NVML.ERROR_NOT_SUPPORTED : ({ ret: NVML.ERROR_NOT_SUPPORTED } satisfies Result<never>));
      };
    },
  });
}

const backend = (api: NvmlApi | Error) => new NvmlBackend(log, { library: 'libnvidia-ml.so.1', intervalMs: 10_000 }, async () => {
  if (api instanceof Error) throw api;
  return api;
});

describe('nvml backend', () => {
  it('reports no data when the library cannot be loaded or the driver is not loaded', async () => {
    await assert.rejects(backend(new Error('libnvidia-ml.so.1: cannot open shared object file')).sample(signal()), (e) => e instanceof NoDataError && /cannot load libnvidia-ml.so.1: libnvidia-ml.so.1: cannot open/.test(e.message));
    await assert.rejects(backend(standIn({ init: async () => NVML.ERROR_DRIVER_NOT_LOADED })).sample(signal()), (e) => e instanceof NoDataError && e.message === 'nvmlInit: Driver Not Loaded');
    await assert.rejects(backend(standIn({ init: async () => NVML.ERROR_NO_PERMISSION })).sample(signal()), (e) => e instanceof BackendError && e.reason === 'spawn');
  });

  it('keeps a lost GPU\'s bus id and index from when it last answered', async () => {
    let lost = false;
    const b = backend(standIn({ deviceGetUUID: async () => (lost ? { ret: NVML.ERROR_GPU_IS_LOST } : { ret: NVML.SUCCESS, value: UUID }) }));
    const first = await b.sample(signal());
    assert.deepEqual(first.devices.map((d) => d.id), [{ vendor: 'nvidia', uuid: UUID, pciBusId: '0000:3b:00.0', index: '0', model: 'NVIDIA A100 80GB PCIe' }]);
    lost = true;
    const second = await b.sample(signal());
    assert.deepEqual(second.devices, []);
    assert.deepEqual(second.lost, [{ pciBusId: '0000:3b:00.0', index: '0', message: 'GPU is lost' }]);
  });

  it('makes no new call while one is blocked, failing fast with a timeout until it returns', async () => {
    let release!: () => void;
    const blocked = new Promise<void>((r) => (release = r));
    const calls: string[] = [];
    const b = backend(standIn({ deviceGetPowerUsage: async () => (await blocked, { ret: NVML.SUCCESS, value: 300_000 }) }, calls));
    const stuck = b.sample(signal());
    await new Promise((r) => setTimeout(r, 20));
    const before = calls.length;
    await assert.rejects(b.sample(signal()), (e) => e instanceof BackendError && e.reason === 'timeout' && /has not returned/.test(e.message));
    assert.equal(calls.length, before, 'no call made while one is blocked');
    release();
    const r = await stuck;
    assert.equal(r.devices[0]!.powerWatts, 300);
    assert.equal((await b.sample(signal())).devices.length, 1);
  });

  it('gives each process its mean share from the utilisation samples, zero for a process without samples', async () => {
    const b = backend(
      standIn({
        deviceGetComputeRunningProcesses: async () => ({ ret: NVML.SUCCESS, value: [{ pid: 10, usedGpuMemory: 1024, gpuInstanceId: 0xffffffff, computeInstanceId: 0xffffffff }, { pid: 11, gpuInstanceId: 0xffffffff, computeInstanceId: 0xffffffff }] }),
        deviceGetProcessUtilization: async () => ({
          ret: NVML.SUCCESS,
          value: [
            { pid: 10, timeStamp: 1, smUtil: 20, memUtil: 4, encUtil: 0, decUtil: 0 },
            { pid: 10, timeStamp: 2, smUtil: 40, memUtil: 6, encUtil: 0, decUtil: 10 },
          ],
        }),
      }),
    );
    const r = await b.sample(signal());
    assert.deepEqual(r.processes, [
      { deviceUuid: UUID, pid: 10, name: '', memoryUsedBytes: 1024, utilizationRatio: 0.3, memoryControllerUtilizationRatio: 0.05, encoderUtilizationRatio: 0, decoderUtilizationRatio: 0.05 },
      { deviceUuid: UUID, pid: 11, name: '', utilizationRatio: 0, memoryControllerUtilizationRatio: 0, encoderUtilizationRatio: 0, decoderUtilizationRatio: 0 },
    ]);
  });
});
